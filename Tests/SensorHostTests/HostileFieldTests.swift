import Foundation
import Testing

/// Peers that send oversized strings and lists, end to end against the independent grpcio peer: what reaches the
/// Reject, the SQLite row and the metrics is bounded, and a peer that breaks the Addresses rules is dealt with as
/// nodes deal with it.
@Suite("Hostile fields, end to end")
struct HostileFieldTests {
    static let settings: [String: [String: String]] = [
        "probing": ["enabled": "false"],
        "network": ["listen_address": "\"127.0.0.1:0\"", "max_message_bytes": "33554432"],
        "session": ["address_request_rounds": "1", "linger_ms": "1000", "address_wait_ms": "1000"],
    ]

    @Test("A 2 MiB network name: a short Reject, a 16-byte peer_network, a bounded row")
    func hugeNetworkName() async throws {
        try await SensorHarness.withSensor(Self.settings) { sensor in
            let run = try await sensor.pythonClient([
                "--scenario", "node", "--network-pad-bytes", "\(2 << 20)",
                "--timeout", "20",
            ])
            let reason = try #require(run.event("reject_received")?["reason"] as? String, "\(run.output)")
            #expect(reason.hasPrefix("Network mismatch - local: kaspa-mainnet, remote: kaspa-mainnet\n"))
            #expect(reason.utf8.count < 200, "\(reason.utf8.count) bytes")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == "wrong_network")
            #expect(row["peer_network"]?.utf8.count == 16)
            let rowBytes = row.values.reduce(0) { $0 + $1.utf8.count }
            #expect(rowBytes < 4096, "the row holds \(rowBytes) bytes")
        }
    }

    @Test("An answer of 2,501 addresses ends the session as a protocol error and stores none of them")
    func tooManyAddresses() async throws {
        try await SensorHarness.withSensor(Self.settings) { sensor in
            _ = try await sensor.pythonClient([
                "--scenario", "node", "--address-count", "2501", "--hold-seconds", "3", "--timeout", "10",
            ])
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == "completed")
            #expect(row["disconnect_reason"] == "protocol_error: Addresses with 2501 entries, more than 2500")
            #expect(row["addresses_received"] == "0")
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains("sensor_protocol_errors_total 1"), "\(metrics)")
            #expect(!metrics.contains("sensor_addresses_received_total 25"))
        }
    }

    @Test("2,500 addresses are taken")
    func addressesAtTheCap() async throws {
        try await SensorHarness.withSensor(Self.settings) { sensor in
            let run = try await sensor.pythonClient(["--scenario", "node", "--address-count", "2500"])
            #expect(run.status == 0, "\(run.output)")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["addresses_received"] == "2500", "\(row)")
        }
    }

    @Test("Unsolicited Addresses are counted and ignored; the session goes on")
    func unsolicitedAddresses() async throws {
        try await SensorHarness.withSensor(Self.settings) { sensor in
            let run = try await sensor.pythonClient([
                "--scenario", "unsolicited-addresses", "--count", "40", "--addresses", "203.0.113.9:16111",
            ])
            #expect(run.status == 0, "\(run.output)")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == "completed")
            #expect(row["addresses_received"] == "1", "\(row)")
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains("sensor_unsolicited_addresses_total 1"), "\(metrics)")
        }
    }
}
