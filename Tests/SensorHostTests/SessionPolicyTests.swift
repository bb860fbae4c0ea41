import Foundation
import TestSupport
import Testing

@Suite("Session policy, metrics and shutdown", .serialized)
struct SessionPolicyTests {
    @Test("Stay mode: the event is stored while the peer is connected, then updated when it leaves")
    func stayConnected() async throws {
        try await SensorHarness.withSensor(["session": ["mode": "\"stay\""]]) { sensor in
            let node = try await PythonListener(["server", "--listen", "127.0.0.1:0"])
            async let client = sensor.pythonClient([
                "--scenario", "node", "--advertise", "127.0.0.1:\(node.port)", "--id-hex", node.id, "--hold-seconds",
                "3",
            ])
            let open = try #require(try await sensor.waitForRows(where: "session_open = 1").first)
            #expect(open["classification"] == "public")
            #expect(open["handshake_outcome"] == "completed")
            #expect(open["session_duration_ms"] == nil)
            let run = try await client
            #expect(run.status == 0, "\(run.output)")
            let closed = try #require(try await sensor.waitForRows(where: "session_open = 0").first)
            #expect(closed["event_id"] == open["event_id"])
            #expect(closed["disconnect_reason"] == "closed_by_peer")
            #expect(Double(closed["session_duration_ms"] ?? "") ?? 0 >= 3000)
        }
    }

    @Test("Close mode leaves after the exchange, the probe and the linger")
    func closeMode() async throws {
        try await SensorHarness.withSensor(["session": ["linger_ms": "300"]]) { sensor in
            let node = try await PythonListener(["server", "--listen", "127.0.0.1:0"])
            let run = try await sensor.pythonClient([
                "--scenario", "node", "--advertise", "127.0.0.1:\(node.port)", "--id-hex", node.id, "--hold-seconds",
                "10",
            ])
            // The peer wanted to stay 10 s; the sensor left first, politely, after the linger.
            #expect(run.event("pong_received")?["matches"] as? Bool == true, "\(run.output)")
            #expect(run.event("reject_received") == nil)
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["disconnect_reason"] == "linger_elapsed")
            #expect(row["addresses_sent"] == "1")
            let duration = Double(row["session_duration_ms"] ?? "") ?? 0
            #expect(duration >= 300 && duration < 9000)
        }
    }

    @Test("Prometheus metrics carry the seed's names and count what happened; /health answers")
    func metrics() async throws {
        try await SensorHarness.withSensor(["probing": ["connect_timeout_ms": "400"]]) { sensor in
            let node = try await PythonListener(["server", "--listen", "127.0.0.1:0"])
            _ = try await sensor.pythonClient([
                "--scenario", "node", "--advertise", "127.0.0.1:\(node.port)", "--id-hex", node.id,
            ])
            _ = try await sensor.pythonClient([
                "--scenario", "node", "--advertise", "127.0.0.1:\(RawListener.closedPort().port)",
            ])
            _ = try await sensor.pythonClient(["--scenario", "wrong-network"])
            _ = try await sensor.waitForRows(3)
            let (status, body) = try await sensor.get("/metrics")
            #expect(status == 200)
            for line in [
                "sensor_connections_total 3",
                "sensor_probes_total{classification=\"public\"} 1",
                // The wrong-network peer is dialed back too, at the default port, where nothing listens.
                "sensor_probes_total{classification=\"private\"} 2",
                "sensor_peers_classified_public_total 1",
                "sensor_peers_classified_private_total 2",
                "sensor_handshake_failures_total{reason=\"wrong_network\"} 1",
                "sensor_active_connections 0.0",
                "sensor_sink_delivered_total{sink=\"sqlite\"} 3",
            ] {
                #expect(body.contains(line), "missing \(line)")
            }
            #expect(body.contains("sensor_handshake_duration_seconds_bucket"))
            #expect(body.contains("sensor_probe_duration_seconds_bucket"))
            #expect(body.contains("sensor_sink_queue_depth{sink=\"sqlite\"}"))
            #expect(!body.contains("127.0.0.1"), "peer addresses must never be labels")
            let health = try await sensor.get("/health")
            #expect(health.status == 200)
            #expect(health.body.contains("\"status\":\"ok\""))
        }
    }

    @Test("Graceful shutdown ends open sessions and every event reaches SQLite")
    func shutdownFlushes() async throws {
        let peers = 6
        try await SensorHarness.withSensor([
            "session": ["mode": "\"stay\""], "probing": ["enabled": "false"],
        ]) { sensor in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<peers {
                    group.addTask { _ = try await sensor.pythonClient(["--scenario", "node", "--hold-seconds", "30"]) }
                }
                _ = try await sensor.waitForRows(peers, where: "session_open = 1")
                await sensor.group.triggerGracefulShutdown()
                // Sessions get the shutdown grace, are then cancelled, and their closing events still land.
                let closed = try await sensor.waitForRows(
                    peers,
                    where: "session_open = 0 AND disconnect_reason = 'sensor_shutdown'"
                )
                #expect(closed.count == peers)
                try await group.waitForAll()
            }
        }
    }
}
