import KaspaP2P
import SensorHost
import Synchronization
import Testing

@Suite("kaspa-sensor verify")
struct VerificationTests {
    @Test("The verification connects, completes the handshake, catches the dial-back and finds the stored event")
    func verifiesARunningSensor() async throws {
        try await SensorHarness.withSensor { sensor in
            let verifier = ProbeVerifier(
                sensor: sensor.p2p,
                listen: PeerAddress("127.0.0.1:0")!,
                database: sensor.databasePath,
                network: .mainnet,
                timeout: .seconds(5)
            )
            let verdicts = Mutex<[ProbeVerifier.Verdict]>([])
            let passed = await verifier.run { verdict in verdicts.withLock { $0.append(verdict) } }
            let steps = verdicts.withLock { $0 }
            #expect(passed, "\(steps)")
            #expect(steps.map(\.step) == ["listen", "handshake", "probe", "stored"])
            #expect(steps.filter { !$0.passed }.isEmpty)
            #expect(steps.last?.detail.contains("classification public") == true)
        }
    }

    @Test("A sensor that is not there fails at the first step with the reason")
    func failsClearly() async throws {
        let verifier = ProbeVerifier(
            sensor: PeerAddress("127.0.0.1:1")!,
            listen: PeerAddress("127.0.0.1:0")!,
            database: nil,
            network: .mainnet,
            timeout: .seconds(2)
        )
        let verdicts = Mutex<[ProbeVerifier.Verdict]>([])
        let passed = await verifier.run { verdict in verdicts.withLock { $0.append(verdict) } }
        #expect(!passed)
        let last = try #require(verdicts.withLock { $0.last })
        #expect(last.step == "connect")
        #expect(last.detail.contains("connection_refused"))
    }
}
