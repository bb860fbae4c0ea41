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
            let dialer = KaspaDialer(maxMessageBytes: 32 << 20)
            let target = sensor.p2p
            let completed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<peers {
                    group.addTask {
                        let outcome = await dialer.dial(
                            target,
                            connectTimeout: .seconds(5),
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
