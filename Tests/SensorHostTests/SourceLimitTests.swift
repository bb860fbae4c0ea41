import Foundation
import KaspaP2P
import SensorHost
import Testing

/// The per-source limits of `[limits]`, against real sockets from distinct loopback sources (the independent
/// `edge_client.py`): over a limit the connection is closed at accept or the stream reset, counted and recorded,
/// and other sources are served as before.
@Suite("Per-source limits")
struct SourceLimitTests {
    static func settings(_ limits: [String: String]) -> [String: [String: String]] {
        [
            "probing": ["enabled": "false"],
            "limits": limits.merging(["exempt_loopback": "false"]) { $1 },
        ]
    }

    static func int(_ value: (any Sendable)?) -> Int? {
        (value as? NSNumber)?.intValue
    }

    @Test("One IP holds at most max_connections_per_ip connections; the rest are closed at accept and recorded")
    func connectionsPerIP() async throws {
        try await SensorHarness.withSensor(Self.settings(["max_connections_per_ip": "3"])) { sensor in
            let flood = try await sensor.edgeClient(
                "connections", ["--source", "127.20.0.1", "--count", "5", "--preface", "--observe", "4"])
            #expect(Self.int(flood["open"]) == 3, "\(flood)")
            #expect(Self.int(flood["closed"]) == 2, "\(flood)")
            // Another source is served as before.
            let honest = try await sensor.pythonClient(["--scenario", "node"])
            #expect(honest.status == 0, "\(honest.output)")
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains(#"sensor_connections_refused_total{scope="ip"} 2"#), "\(metrics)")
            let refused = try #require(
                try await sensor.waitForRows(where: "handshake_outcome = 'refused_source_limit'").first)
            #expect(refused["remote_ip"] == "127.20.0.1")
            #expect(refused["handshake_error"] == "127.20.0.1 already holds 3 TCP connections")
            #expect(refused["disconnect_reason"] == "refused_by_sensor")
        }
    }

    @Test("A /24 holds at most max_connections_per_prefix connections, whichever of its addresses they come from")
    func connectionsPerPrefix() async throws {
        try await SensorHarness.withSensor(
            Self.settings(["max_connections_per_ip": "10", "max_connections_per_prefix": "3"])
        ) { sensor in
            let first = try await sensor.edgeClient(
                "connections", ["--source", "127.21.0.1", "--count", "2", "--observe", "0.5"])
            #expect(Self.int(first["open"]) == 2, "\(first)")
            let second = try await sensor.edgeClient(
                "connections", ["--source", "127.21.0.2", "--count", "2", "--observe", "3"])
            // The first source's connections closed when its client exited; the prefix had room for two again.
            #expect(Self.int(second["open"]) == 2, "\(second)")
            let metrics = try await sensor.get("/metrics").body
            #expect(!metrics.contains("sensor_connections_refused_total"), "\(metrics)")
        }
    }

    @Test("Connections held open at once from two addresses of one /24 share its limit")
    func prefixSharedAtOnce() async throws {
        try await SensorHarness.withSensor(
            Self.settings(["max_connections_per_ip": "10", "max_connections_per_prefix": "3"])
        ) { sensor in
            async let holding = sensor.edgeClient(
                "connections", ["--source", "127.22.0.1", "--count", "2", "--observe", "9"])
            // Polled, not slept: the sensor has accepted the first client's two connections.
            var accepted = false
            for _ in 0..<600 where !accepted {
                accepted = try await sensor.get("/metrics").body.contains("sensor_tcp_connections_total 2")
                if !accepted { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(accepted)
            let late = try await sensor.edgeClient(
                "connections", ["--source", "127.22.0.2", "--count", "2", "--observe", "3"])
            let other = try await sensor.edgeClient(
                "connections", ["--source", "127.23.0.1", "--count", "2", "--observe", "3"])
            let first = try await holding
            #expect(Self.int(first["open"]) == 2, "\(first)")
            #expect(Self.int(late["open"]) == 1 && Self.int(late["closed"]) == 1, "\(late)")
            #expect(Self.int(other["open"]) == 2, "\(other)")
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains(#"sensor_connections_refused_total{scope="prefix"} 1"#), "\(metrics)")
        }
    }

    @Test("Ten streams sent before the SETTINGS ACK: four run, six are reset")
    func streamsBeforeSettingsAck() async throws {
        try await SensorHarness.withSensor(Self.settings([:])) { sensor in
            let result = try await sensor.edgeClient(
                "streams", ["--source", "127.24.0.1", "--count", "10", "--observe", "15"])
            #expect(Self.int(result["accepted"]) == 4, "\(result)")
            #expect(Self.int(result["reset"]) == 6, "\(result)")
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains(#"sensor_streams_refused_total{scope="connection"} 6"#), "\(metrics)")
        }
    }

    @Test("One IP holds at most max_streams_per_ip streams over all its connections")
    func streamsPerIP() async throws {
        try await SensorHarness.withSensor(Self.settings(["max_streams_per_ip": "3"])) { sensor in
            let result = try await sensor.edgeClient(
                "streams", ["--source", "127.25.0.1", "--connections", "2", "--count", "2", "--observe", "15"])
            #expect(Self.int(result["accepted"]) == 3, "\(result)")
            #expect(Self.int(result["reset"]) == 1, "\(result)")
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains(#"sensor_streams_refused_total{scope="ip"} 1"#), "\(metrics)")
        }
    }

    @Test("Loopback is exempt by default: twelve connections from one loopback address all stay open")
    func loopbackExemptByDefault() async throws {
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]]) { sensor in
            let result = try await sensor.edgeClient(
                "connections", ["--source", "127.26.0.1", "--count", "12", "--preface", "--observe", "3"])
            #expect(Self.int(result["open"]) == 12, "\(result)")
        }
    }

    @Test("Peers turned away over max_inbound are summarised per source: one full row, the rest counted")
    func overCapacitySummarised() async throws {
        try await SensorHarness.withSensor([
            "probing": ["enabled": "false"], "network": ["listen_address": "\"127.0.0.1:0\"", "max_inbound": "1"],
            "session": ["mode": "\"stay\""],
        ]) { sensor in
            async let holder = sensor.pythonClient(["--scenario", "node", "--hold-seconds", "15"])
            var full = false
            for _ in 0..<1000 where !full {
                full = try await sensor.get("/metrics").body.contains("sensor_active_connections 1")
                if !full { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(full)
            for _ in 0..<3 {
                let turnedAway = try await sensor.pythonClient(["--scenario", "node", "--timeout", "3"])
                #expect(turnedAway.event("reject_received")?["reason"] as? String == "sensor at capacity")
            }
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains("sensor_connections_rejected_total 3"), "\(metrics)")
            let rows = try await sensor.waitForRows(where: "handshake_outcome = 'over_capacity'")
            #expect(rows.count == 1, "\(rows)")
            #expect(rows.first?["disconnect_reason"] == "over_capacity")
            _ = try await holder
        }
    }
}

@Suite("Source keys")
struct SourceKeyTests {
    @Test(
        "Sources are IPv4 addresses and IPv6 /64s; prefixes are IPv4 /24s and IPv6 /48s; mapped IPv4 is IPv4",
        arguments: [
            ("203.0.113.7", "203.0.113.7", "203.0.113.0/24"),
            ("::ffff:203.0.113.7", "203.0.113.7", "203.0.113.0/24"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "2001:db8:1::/48"),
            ("2001:db8:1:ffff::1", "2001:db8:1:ffff::/64", "2001:db8:1::/48"),
        ])
    func keys(address: String, source: String, prefix: String) throws {
        let ip = try #require(IPAddress(address))
        #expect(SourceKey.source(of: ip).description == source)
        #expect(SourceKey.prefix(of: ip).description == prefix)
    }
}

/// The connection-level bounds: the descriptor budget, the pre-stream deadline whatever a connection sends, and
/// the metrics endpoint's own connection limit.
@Suite("Connection budget and deadlines")
struct ConnectionBudgetTests {
    static func int(_ value: (any Sendable)?) -> Int? { SourceLimitTests.int(value) }

    @Test("The budget is the open-file limit minus what probes, metrics and storage need; configured lowers it")
    func budgetArithmetic() {
        let budget = DescriptorBudget(fileLimit: 4096, dialers: 72, metricsConnections: 16)
        #expect(budget.reserve == 216 && budget.peerConnections == 3880)
        #expect(
            DescriptorBudget(fileLimit: 4096, dialers: 72, metricsConnections: 16, configured: 100).peerConnections
                == 100)
        #expect(DescriptorBudget(fileLimit: 200, dialers: 72, metricsConnections: 16).peerConnections == 16)
    }

    @Test("Over max_tcp_connections (loopback included) connections are closed at accept and counted")
    func totalConnections() async throws {
        try await SensorHarness.withSensor(["limits": ["max_tcp_connections": "3"]]) { sensor in
            let flood = try await sensor.edgeClient(
                "connections", ["--source", "127.27.0.1", "--count", "5", "--preface", "--observe", "4"])
            #expect(Self.int(flood["open"]) == 3 && Self.int(flood["closed"]) == 2, "\(flood)")
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains(#"sensor_connections_refused_total{scope="total"} 2"#), "\(metrics)")
            // Once the flood has gone, peers are served again.
            let honest = try await sensor.pythonClient(["--scenario", "node"])
            #expect(honest.status == 0, "\(honest.output)")
        }
    }

    @Test("HEADERS trickled a byte at a time do not keep a connection: it is closed at the pre-stream deadline")
    func trickledHeaders() async throws {
        try await SensorHarness.withSensor(["handshake": ["version_timeout_ms": "700"]]) { sensor in
            let result = try await sensor.edgeClient(
                "trickle", ["--source", "127.28.0.1", "--interval", "0.1", "--observe", "10"])
            #expect(result["closed"] as? NSNumber == true, "\(result)")
            let after = try #require(Self.int(result["closed_after_ms"]), "\(result)")
            #expect(after < 5000, "\(result)")
            let row = try #require(try await sensor.waitForRows(where: "handshake_outcome = 'no_grpc_stream'").first)
            #expect(row["disconnect_reason"] == "silent_timeout")
        }
    }

    @Test("The preface and SETTINGS, then silence: closed at the pre-stream deadline")
    func settingsThenSilence() async throws {
        try await SensorHarness.withSensor(["handshake": ["version_timeout_ms": "700"]]) { sensor in
            let result = try await sensor.edgeClient(
                "connections", ["--source", "127.29.0.1", "--count", "3", "--preface", "--observe", "6"])
            #expect(Self.int(result["closed"]) == 3, "\(result)")
        }
    }

    @Test("The metrics endpoint holds at most max_connections; more are closed, and it answers once they go")
    func metricsConnectionsBounded() async throws {
        try await SensorHarness.withSensor(["metrics": ["address": "\"127.0.0.1:0\"", "max_connections": "2"]]) {
            sensor in
            let metrics = try #require(sensor.metrics)
            let flood = try await PythonPeer.run(
                [
                    "connections", "--target", metrics.description, "--source", "127.30.0.1", "--count", "4",
                    "--observe", "4",
                ],
                script: PythonPeer.edgeScript)
            let result = try #require(flood.events.last, "\(flood.output)")
            #expect(Self.int(result["closed"]) == 2 && Self.int(result["open"]) == 2, "\(result)")
            #expect(try await sensor.get("/metrics").status == 200)
        }
    }
}
