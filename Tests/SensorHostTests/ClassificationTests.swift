import Foundation
import KaspaP2P
import TestSupport
import Testing

@Suite("Dial-back classification", .serialized)
struct ClassificationTests {
    @Test("Refused → private; SYN dropped twice → private after a retry; TCP open but no Kaspa → unknown")
    func labels() async throws {
        try await SensorHarness.withSensor([
            "probing": ["connect_timeout_ms": "400", "http2_timeout_ms": "400", "cache_ttl_secs": "0"]
        ]) { sensor in
            let closed = RawListener.closedPort()
            let saturated = try RawListener(saturated: true)
            let mute = try RawListener(saturated: false)
            for (index, port) in [closed.port, saturated.address.port, mute.address.port].enumerated() {
                let run = try await sensor.pythonClient([
                    "--scenario", "node", "--advertise", "127.0.0.1:\(port)", "--id-hex",
                    String(repeating: "\(index)", count: 32),
                ])
                #expect(run.status == 0, "\(run.output)")
            }
            let rows = try await sensor.waitForRows(3)
            let byPeer = Dictionary(uniqueKeysWithValues: rows.map { ($0["peer_id"]!.prefix(1), $0) })
            #expect(byPeer["0"]?["classification"] == "private")
            #expect(byPeer["0"]?["probe_outcome"] == "connection_refused")
            #expect(byPeer["0"]?["probe_attempts"] == "1")
            #expect(byPeer["1"]?["classification"] == "private")
            #expect(byPeer["1"]?["probe_outcome"] == "timed_out")
            #expect(byPeer["1"]?["probe_attempts"] == "2")
            #expect(byPeer["2"]?["classification"] == "unknown")
            #expect(byPeer["2"]?["probe_outcome"] == "not_http2")
            #expect(byPeer["2"]?["probe_error"]?.contains("nothing was sent within 400 ms") == true)
            for row in rows {
                #expect(row["probe_error"]?.isEmpty == false)
                #expect(row["probe_target"]?.hasPrefix("127.0.0.1:") == true)
            }
        }
    }

    @Test("Probes are bounded (a full queue says so) and a slow probe never delays the handshake")
    func boundedProbes() async throws {
        try await SensorHarness.withSensor([
            "probing": ["connect_timeout_ms": "2000", "max_concurrent": "1", "queue_capacity": "0"]
        ]) { sensor in
            let first = try RawListener(saturated: true)
            let second = try RawListener(saturated: true)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, listener) in [first, second].enumerated() {
                    group.addTask {
                        let run = try await sensor.pythonClient([
                            "--scenario", "node", "--advertise", listener.address.description,
                            "--id-hex", String(repeating: "\(index)", count: 32),
                        ])
                        #expect(run.status == 0, "\(run.output)")
                    }
                }
                try await group.waitForAll()
            }
            let rows = try await sensor.waitForRows(2)
            let outcomes = Set(rows.compactMap { $0["probe_outcome"] })
            #expect(outcomes == ["timed_out", "probe_queue_full"], "\(rows)")
            let slow = try #require(rows.first { $0["probe_outcome"] == "timed_out" })
            #expect(Double(slow["probe_duration_ms"] ?? "") ?? 0 >= 4000)
            #expect(Double(slow["handshake_duration_ms"] ?? "") ?? .infinity < 1000)
            #expect(rows.first { $0["probe_outcome"] == "probe_queue_full" }?["classification"] == "unknown")
        }
    }

    @Test("Without an advertised address the default port of the network is dialed, at the remote IP")
    func defaultPort() async throws {
        try await SensorHarness.withSensor([
            "network": ["network_type": "\"simnet\"", "listen_address": "\"127.0.0.1:0\""]
        ]) { sensor in
            let run = try await sensor.pythonClient(["--scenario", "node", "--network", "kaspa-simnet"])
            #expect(run.status == 0, "\(run.output)")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["probe_target"] == "127.0.0.1:16511")
            #expect(row["advertised_ip"] == nil)
        }
    }

    @Test("An advertised IP different from the remote IP is recorded, but only the remote IP is dialed")
    func noReflection() async throws {
        try await SensorHarness.withSensor(["probing": ["connect_timeout_ms": "400"]]) { sensor in
            let closed = RawListener.closedPort()
            let run = try await sensor.pythonClient(["--scenario", "node", "--advertise", "203.0.113.9:\(closed.port)"])
            #expect(run.status == 0, "\(run.output)")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["advertised_ip"] == "203.0.113.9")
            #expect(row["advertised_ip_differs"] == "1")
            #expect(row["probe_target"] == "127.0.0.1:\(closed.port)")
        }
    }

    @Test("Non-routable targets are not dialed unless allowed; repeated peers reuse the cached result")
    func nonRoutableAndCache() async throws {
        try await SensorHarness.withSensor(["probing": ["allow_private_targets": "false"]]) { sensor in
            _ = try await sensor.pythonClient(["--scenario", "node"])
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["classification"] == "unknown")
            #expect(row["probe_outcome"] == "non_routable_target")
            #expect(row["probe_attempts"] == "0")
        }
        try await SensorHarness.withSensor { sensor in
            let node = try await PythonListener(["server", "--listen", "127.0.0.1:0"])
            for _ in 0..<2 {
                let run = try await sensor.pythonClient([
                    "--scenario", "node", "--advertise", "127.0.0.1:\(node.port)", "--id-hex", node.id,
                ])
                #expect(run.status == 0, "\(run.output)")
            }
            let rows = try await sensor.waitForRows(2)
            #expect(rows.map { $0["probe_cached"] } == ["0", "1"])
            #expect(rows.allSatisfy { $0["classification"] == "public" })
            let probes = try await node.events(named: "version_received", atLeast: 2, limit: .seconds(2))
            #expect(probes.count == 1)
        }
    }

    @Test("Public needs the inbound peer's own id: another node at the address is unknown, cached or not")
    func identity() async throws {
        try await SensorHarness.withSensor { sensor in
            let node = try await PythonListener(["server", "--listen", "127.0.0.1:0"])
            let neighbour = String(repeating: "ab", count: 16)
            // The node itself, then a neighbour that names the node's port (behind one NAT, a port forward).
            for id in [node.id, neighbour, node.id] {
                let run = try await sensor.pythonClient([
                    "--scenario", "node", "--advertise", "127.0.0.1:\(node.port)", "--id-hex", id,
                ])
                #expect(run.status == 0, "\(run.output)")
            }
            let rows = try await sensor.waitForRows(3)
            #expect(rows.map { $0["classification"] } == ["public", "unknown", "public"])
            #expect(
                rows.map { $0["probe_outcome"] } == ["version_received", "other_node_answered", "version_received"])
            #expect(rows[1]["peer_id"] == neighbour)
            #expect(rows[1]["probe_peer_id"] == node.id)
            #expect(rows[1]["probe_error"]?.contains(node.id) == true)
            // The neighbour's row was not taken from the cache: the node was dialed again for it. The node's
            // second row reuses the cached Version, which carries its id.
            #expect(rows.map { $0["probe_cached"] } == ["0", "0", "1"])
            #expect(rows.allSatisfy { $0["probe_port_source"] == "advertised" })
        }
    }

    @Test("A peer that sends no Version is not dialed: there is no id to verify")
    func noVersionNoProbe() async throws {
        try await SensorHarness.withSensor(["handshake": ["version_timeout_ms": "500"]]) { sensor in
            _ = try await sensor.pythonClient(["--scenario", "silent", "--timeout", "5"])
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == "timeout_version")
            #expect(row["classification"] == "unknown")
            #expect(row["probe_outcome"] == "no_peer_version")
            #expect(row["probe_attempts"] == "0")
            #expect(row["probe_target"] == nil)
        }
    }

    @Test("Dual stack: a [::] listener records IPv4 peers as IPv4 and dials them back over IPv4")
    func dualStack() async throws {
        try await SensorHarness.withSensor(["network": ["listen_address": "\"[::]:0\""]]) { sensor in
            let node = try await PythonListener(["server", "--listen", "127.0.0.1:0"])
            let run = try await PythonPeer.run([
                "client", "--target", "127.0.0.1:\(sensor.p2p.port)", "--scenario", "node",
                "--advertise", "127.0.0.1:\(node.port)", "--id-hex", node.id,
            ])
            #expect(run.status == 0, "\(run.output)")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["remote_ip"] == "127.0.0.1")
            #expect(row["classification"] == "public")
            #expect(row["probe_target"] == "127.0.0.1:\(node.port)")
        }
    }

    @Test("IPv6: peers on [::1] are accepted and dialed back over IPv6")
    func ipv6() async throws {
        try await SensorHarness.withSensor(["network": ["listen_address": "\"[::1]:0\""]]) { sensor in
            let node = try await PythonListener(["server", "--listen", "[::1]:0"])
            let run = try await PythonPeer.run([
                "client", "--target", "[::1]:\(sensor.p2p.port)", "--scenario", "node", "--advertise",
                "[::1]:\(node.port)", "--id-hex", node.id,
            ])
            #expect(run.status == 0, "\(run.output)")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["remote_ip"] == "::1")
            #expect(row["classification"] == "public")
            #expect(row["probe_target"] == "[::1]:\(node.port)")
        }
    }
}
