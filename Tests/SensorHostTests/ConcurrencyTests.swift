import KaspaP2P
import Testing

@Suite("Many peers at once")
struct ConcurrencyTests {
    @Test("200 simultaneous peers complete the handshake and every attempt is recorded once")
    func manyPeers() async throws {
        let peers = 200
        try await SensorHarness.withSensor([
            "probing": ["connect_timeout_ms": "2000"],
            "session": ["linger_ms": "0", "address_wait_ms": "500"],
        ]) { sensor in
            // 200 connections at once wait in the listener's accept queue (NIO's default backlog of 128, which
            // grpc-swift-nio-transport does not expose; the kernel drops SYNs beyond it and the client sends them
            // again after 1, 3 and 7 s). On a busy machine the last ones are accepted, and get the sensor's SETTINGS,
            // seconds after their TCP connect: the client's budgets leave room for that, so a dial fails only if the
            // sensor never serves it.
            let dialer = KaspaDialer(maxMessageBytes: 32 << 20, settingsTimeout: .seconds(15))
            let target = sensor.p2p
            let completed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<peers {
                    group.addTask {
                        let outcome = await dialer.dial(
                            target,
                            connectTimeout: .seconds(15),
                            deadline: .seconds(30),
                            local: LocalVersion(network: .mainnet, userAgent: "/load:1/"),
                            configuration: PeerSessionConfiguration(
                                afterHandshake: .closeAfterExchange(addressWait: .seconds(5), linger: .zero)
                            )
                        )
                        if case .connected(let report?, _) = outcome { return report.handshakeCompleted }
                        return false
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(completed == peers)
            let rows = try await sensor.waitForRows(peers, limit: .seconds(60))
            #expect(rows.count == peers)
            #expect(Set(rows.compactMap { $0["peer_id"] }).count == peers)
            #expect(rows.filter { $0["handshake_outcome"] == "completed" }.count == peers)
            // One IP, no advertised port: the 200 connections share one probe (in flight or cached).
            #expect(rows.filter { $0["probe_cached"] == "0" }.count == 1)
        }
    }
}
