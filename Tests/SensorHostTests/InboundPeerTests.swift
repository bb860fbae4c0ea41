import Foundation
import TestSupport
import Testing

/// A user agent long and repetitive enough that grpcio really gzips the Version frame (it only keeps gzip output
/// that is smaller than the message, unlike rusty-kaspa, which compresses everything).
let compressibleUserAgent = "/kaspad:2.0.1/kaspad:2.0.1(kaspa-test-peer; kaspa-test-peer; kaspa-test-peer)/"

@Suite("Inbound peers through an independent gRPC stack (Python grpcio)", .serialized)
struct InboundPeerTests {
    @Test("A node-like peer (gzip, Version at once) completes the handshake and is labelled public")
    func nodePeerIsPublic() async throws {
        try await SensorHarness.withSensor { sensor in
            let node = try await PythonListener([
                "server", "--listen", "127.0.0.1:0", "--user-agent", "/probe-target:1/",
                "--id-hex", "00112233445566778899aabbccddeeff",
            ])
            let run = try await sensor.pythonClient([
                "--scenario", "node", "--user-agent", compressibleUserAgent, "--advertise", "127.0.0.1:\(node.port)",
                "--id-hex", "00112233445566778899aabbccddeeff",
            ])
            #expect(run.status == 0, "\(run.output)")
            #expect(run.event("version_sent")?["gzip_frame"] as? Bool == true)
            #expect(run.event("headers_received") != nil)
            #expect(run.event("pong_received")?["matches"] as? Bool == true)
            #expect(run.event("addresses_received") != nil)
            let version = try #require(run.event("version_received"))
            #expect(version["protocol_version"] as? Int == 10)
            #expect(version["network"] as? String == "kaspa-mainnet")
            #expect((version["user_agent"] as? String)?.hasPrefix("/kaspa-sensor:") == true)
            #expect(version["address"] == nil || version["address"] is NSNull)

            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == "completed")
            #expect(row["classification"] == "public")
            #expect(row["probe_outcome"] == "version_received")
            #expect(row["probe_target"] == "127.0.0.1:\(node.port)")
            #expect(row["probe_user_agent"] == "/probe-target:1/")
            #expect(row["user_agent"] == compressibleUserAgent)
            #expect(row["peer_id"] == "00112233445566778899aabbccddeeff")
            #expect(row["protocol_version"] == "10")
            #expect(row["remote_ip"] == "127.0.0.1")
            #expect(row["advertised_port"] == "\(node.port)")
            #expect(row["advertised_ip_differs"] == "0")
            #expect(row["direction"] == "inbound")
            #expect(row["sensor_id"] == "test-sensor")
            #expect(row["network"] == "kaspa-mainnet")
            #expect(Double(row["handshake_duration_ms"] ?? "") != nil)
            #expect(row["disconnect_reason"] != nil)
            // The probe dialed the connection's own IP with a fresh id, not the peer's.
            let probe = try #require(try await node.events(named: "version_received").first)
            #expect(probe["id"] as? String != "00112233445566778899aabbccddeeff")
        }
    }

    @Test("A peer that waits for our Version first completes the handshake")
    func waitsForOurVersion() async throws {
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]]) { sensor in
            let run = try await sensor.pythonClient(["--scenario", "node", "--wait-for-version"])
            #expect(run.status == 0, "\(run.output)")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == "completed")
            #expect(row["classification"] == "unknown")
            #expect(row["probe_outcome"] == "probing_disabled")
        }
    }

    @Test("Whatever protocol version a peer advertises is recorded, not refused", arguments: [5, 7, 9, 11])
    func recordsProtocolVersion(version: Int) async throws {
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]]) { sensor in
            let run = try await sensor.pythonClient(["--scenario", "node", "--protocol-version", "\(version)"])
            #expect(run.status == 0, "\(run.output)")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == "completed")
            #expect(row["protocol_version"] == "\(version)")
        }
    }

    @Test("A peer on another network gets a Reject naming both networks, and the attempt is recorded")
    func wrongNetwork() async throws {
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]]) { sensor in
            let run = try await sensor.pythonClient(["--scenario", "wrong-network"])
            #expect(run.status == 0, "\(run.output)")
            let reason = run.event("reject_received")?["reason"] as? String
            #expect(reason == "Network mismatch - local: kaspa-mainnet, remote: kaspa-testnet-10")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == "wrong_network")
            #expect(row["peer_network"] == "kaspa-testnet-10")
            #expect(row["handshake_error"] == reason)
        }
    }

    @Test(
        "Misbehaving peers give a recorded event with a clear reason and no crash",
        arguments: [
            (["--scenario", "silent", "--timeout", "5"], "timeout_version", "timeout expired"),
            (["--scenario", "garbage", "--timeout", "5"], "transport_error", ""),
            (
                ["--scenario", "oversized", "--size-mb", "5", "--expect", "close", "--timeout", "5"], "transport_error",
                ""
            ),
            (["--scenario", "node", "--id-hex", "0011"], "malformed_version", "invalid peer id length 2"),
        ]
    )
    func misbehavingPeers(arguments: [String], outcome: String, error: String) async throws {
        try await SensorHarness.withSensor([
            "probing": ["enabled": "false"],
            "handshake": ["version_timeout_ms": "500"],
            "network": ["listen_address": "\"127.0.0.1:0\"", "max_message_bytes": "4194304"],
        ]) { sensor in
            _ = try await sensor.pythonClient(arguments)
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == outcome)
            let recorded = try #require(row["handshake_error"], "\(row)")
            #expect(error.isEmpty || recorded.contains(error), "\(row)")
            #expect(row["disconnect_reason"] != nil)
        }
    }

    @Test("A peer that offers gzip gets the handshake uncompressed; its gzip Version is read (no zlib state kept)")
    func answersUncompressed() async throws {
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]]) { sensor in
            let observation = try await ResponseEncodingProbe.observe(sensor.p2p)
            #expect(Array(observation.payloads.prefix(3)) == ["version", "verack", "ready"])
            #expect(observation.encoding == nil || observation.encoding == "identity")
            #expect(!observation.messageFlags.isEmpty && observation.messageFlags.allSatisfy { $0 == 0 })
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["user_agent"] == "/encoding-probe:1/")
        }
    }

    @Test("A TCP connection that never speaks HTTP/2 is closed after the version timeout and counted")
    func silentTCPConnectionIsClosed() async throws {
        try await SensorHarness.withSensor(["handshake": ["version_timeout_ms": "700"]]) { sensor in
            let address = sensor.p2p
            let seconds = await Task.detached { SilentClient.secondsUntilClosed(address, limit: 10) }.value
            let closedAfter = try #require(seconds, "the sensor kept a silent connection open for 10 s")
            #expect(closedAfter >= 0.5 && closedAfter < 5)
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains("sensor_tcp_connections_total 1"))
            #expect(metrics.contains("sensor_connections_total 0"))
            // Not only a counter: the attempt is an event, never probed (no Version, no id to verify).
            let row = try #require(try await sensor.waitForRows(where: "handshake_outcome = 'silent_tcp'").first)
            #expect(row["remote_ip"] == "127.0.0.1")
            #expect(row["classification"] == "unknown")
            #expect(row["probe_outcome"] == "no_peer_version")
            #expect(row["probe_attempts"] == nil)
            #expect(row["disconnect_reason"] == "silent_timeout")
            #expect(row["attempt_count"] == "1")
            #expect(row["event_json"] == "", "every field has its column")
        }
    }

    @Test("Another protocol is an event with what it sent; a flood from one source is summarised, none uncounted")
    func otherProtocolsAndFloods() async throws {
        try await SensorHarness.withSensor([
            "handshake": ["version_timeout_ms": "2000"], "network": ["attempt_summary_secs": "600"],
        ]) { sensor in
            let address = sensor.p2p
            let request = Array("GET /metrics HTTP/1.1\r\nHost: sensor\r\n\r\n".utf8)
            let closed = await Task.detached { SilentClient.secondsUntilClosed(address, limit: 10, sending: request) }
                .value
            #expect(closed != nil, "the sensor kept an HTTP/1.1 client's connection open")
            let web = try #require(try await sensor.waitForRows(where: "handshake_outcome = 'not_http2'").first)
            #expect(web["first_bytes"] == "\"GET /metrics HTTP/1.1\" (39 bytes)")
            #expect(web["handshake_error"]?.contains("not HTTP/2") == true)
            #expect(web["probe_outcome"] == "no_peer_version")

            // 40 more HTTP/1.1 clients from the same IP in the same interval: one summary row counts them all.
            // (One after the other on one thread: the blocking clients must not take the sensor's threads.)
            let answered = await Task.detached {
                (0..<40).filter { _ in SilentClient.secondsUntilClosed(address, limit: 10, sending: request) != nil }
                    .count
            }.value
            #expect(answered == 40)
            // The summary is written when the interval ends or, as here, at shutdown.
            await sensor.group.triggerGracefulShutdown()
            let rows = try await sensor.waitForRows(2, where: "handshake_outcome = 'not_http2'")
            #expect(rows.count == 2)
            let summary = try #require(rows.first { $0["attempt_count"] != "1" })
            #expect(summary["attempt_count"] == "40")
            #expect(summary["remote_ip"] == "127.0.0.1")
            #expect(summary["first_bytes"] == "\"GET /metrics HTTP/1.1\" (39 bytes)")
            #expect(Int64(summary["last_attempt_at_us"] ?? "") ?? 0 >= Int64(summary["connected_at_us"] ?? "") ?? .max)
        }
    }

    @Test("A crawler that asks for addresses again and again gets one Addresses for every RequestAddresses")
    func everyRequestAddressesAnswered() async throws {
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]]) { sensor in
            let run = try await sensor.pythonClient(["--scenario", "node", "--address-requests", "3"])
            #expect(run.status == 0, "\(run.output)")
            #expect(run.events.filter { $0["event"] as? String == "addresses_received" }.count == 3)
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["addresses_sent"] == "3")
        }
    }

    @Test("Unknown payloads and inv floods are drained; Pings are still answered")
    func drainsUnknownAndInvs() async throws {
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]]) { sensor in
            let unknown = try await sensor.pythonClient(["--scenario", "unknown-payload"])
            #expect(unknown.status == 0, "\(unknown.output)")
            let flood = try await sensor.pythonClient(["--scenario", "flood-invs", "--count", "2000"])
            #expect(flood.status == 0, "\(flood.output)")
            let rows = try await sensor.waitForRows(2)
            #expect(rows.allSatisfy { $0["handshake_outcome"] == "completed" })
            #expect(rows.contains { Int($0["messages_received"] ?? "") ?? 0 >= 2000 })
        }
    }
}
