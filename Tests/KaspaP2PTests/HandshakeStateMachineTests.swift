import KaspaP2P
import Synchronization
import Testing

@Suite("Handshake state machine")
struct HandshakeStateMachineTests {
    let local = LocalVersion(network: .mainnet, userAgent: "/test:1/")

    func peerVersion(network: String = "kaspa-mainnet", id: [UInt8] = LocalVersion.makeID()) -> KaspaMessage {
        KaspaMessage.with { envelope in
            envelope.version = .with {
                $0.protocolVersion = 10
                $0.network = network
                $0.id = .init(id)
                $0.userAgent = "/kaspad:2.0.1/kaspad:2.0.1/"
                $0.timestamp = 1_700_000_000_000
            }
        }
    }

    @Test("Version goes out first, Verack on the peer's Version, Ready after both, complete on the peer's Ready")
    func happyPath() {
        var machine = HandshakeStateMachine(local: local)
        let start = machine.start()
        #expect(start.count == 1)
        guard case .send(let version) = start.first, case .version(let ours) = version.payload else {
            Issue.record("first action must send our Version")
            return
        }
        #expect(ours.protocolVersion == 10)
        #expect(ours.network == "kaspa-mainnet")
        #expect(ours.id.count == 16)
        #expect(!ours.hasAddress)
        #expect(machine.awaiting == .version)

        let afterVersion = machine.receive(peerVersion())
        #expect(afterVersion.count == 2)
        #expect(afterVersion.last == .send(.verack))
        #expect(machine.awaiting == .verack)

        #expect(machine.receive(.verack) == [.send(.ready)])
        #expect(machine.awaiting == .ready)
        #expect(machine.receive(.ready) == [.completed])
        #expect(machine.awaiting == .nothing)
    }

    @Test("Verack before Version (peer read ours first) still yields exactly one Ready")
    func verackFirst() {
        var machine = HandshakeStateMachine(local: local)
        _ = machine.start()
        #expect(machine.receive(.verack).isEmpty)
        let actions = machine.receive(peerVersion())
        #expect(actions.suffix(2) == [.send(.verack), .send(.ready)])
        #expect(machine.receive(.ready) == [.completed])
    }

    @Test(
        "Invalid Versions are rejected with the reference node's reason",
        arguments: [
            (
                "kaspa-testnet-10", 16, "wrong_network",
                "Network mismatch - local: kaspa-mainnet, remote: kaspa-testnet-10"
            ),
            ("kaspa-mainnet", 15, "malformed_version", "invalid peer id length 15, expected 16"),
            ("kaspa-mainnet", 0, "malformed_version", "invalid peer id length 0, expected 16"),
        ]
    )
    func rejects(network: String, idLength: Int, code: String, reason: String) {
        var machine = HandshakeStateMachine(local: local)
        _ = machine.start()
        let actions = machine.receive(peerVersion(network: network, id: Array(repeating: 7, count: idLength)))
        guard case .failed(let failure, let reject, let version) = actions.first else {
            Issue.record("expected a failure, got \(actions)")
            return
        }
        #expect(failure.code.rawValue == code)
        #expect(reject == reason)
        #expect(version?.network == network)
    }

    @Test("Our own id is a loopback connection")
    func loopback() {
        var machine = HandshakeStateMachine(local: local)
        _ = machine.start()
        let actions = machine.receive(peerVersion(id: local.id))
        guard case .failed(let failure, let reject, _) = actions.first else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.code == .loopback)
        #expect(reject == "LOOPBACK_CONNECTION")
    }

    @Test("A second Version, a Reject, and early invs")
    func protocolEdges() {
        var machine = HandshakeStateMachine(local: local)
        _ = machine.start()
        let inv = KaspaMessage.with {
            $0.invRelayBlock = .with { $0.hash = .with { $0.bytes = .init(repeating: 1, count: 32) } }
        }
        #expect(machine.receive(inv).isEmpty)
        #expect(machine.drainedBeforeReady == 1)
        _ = machine.receive(peerVersion())
        guard case .failed(let failure, nil, _) = machine.receive(peerVersion()).first else {
            Issue.record("a second Version must fail the handshake")
            return
        }
        #expect(failure.code == .protocolError)

        var rejected = HandshakeStateMachine(local: local)
        _ = rejected.start()
        guard case .failed(let reason, nil, nil) = rejected.receive(.reject(reason: "DUPLICATE_CONNECTION")).first
        else {
            Issue.record("a Reject must fail the handshake")
            return
        }
        #expect(reason == HandshakeFailure(.peerRejected, "DUPLICATE_CONNECTION"))
    }

    @Test("Timeouts name the step and use the node's wording")
    func timeouts() {
        var machine = HandshakeStateMachine(local: local)
        _ = machine.start()
        guard case .failed(let failure, let reject, _) = machine.timedOut(after: 4).first else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.code == .versionTimeout)
        #expect(reject == "timeout expired after 4s")
    }
}

@Suite("A session's answers to RequestAddresses")
struct AddressAnswerTests {
    @Test("Every RequestAddresses gets exactly one Addresses, as nodes answer crawlers that ask repeatedly")
    func everyRequestAnswered() async {
        let (inbound, peer) = AsyncThrowingStream<KaspaMessage, any Error>.makeStream()
        let written = WrittenMessages()
        let session = PeerSession(
            local: LocalVersion(network: .mainnet, userAgent: "/test:1/"),
            configuration: PeerSessionConfiguration(afterHandshake: .stayConnected, addressRequestRounds: 0),
            observer: NoSessionObserver())
        peer.yield(
            KaspaMessage.with { envelope in
                envelope.version = .with {
                    $0.protocolVersion = 10
                    $0.network = "kaspa-mainnet"
                    $0.id = .init(LocalVersion.makeID())
                }
            })
        peer.yield(.verack)
        peer.yield(.ready)
        for _ in 0..<3 { peer.yield(.requestAddresses) }
        peer.finish()
        let report = await session.run(inbound: inbound, writer: MessageWriter { written.append($0) })
        #expect(report.handshakeCompleted)
        #expect(report.addressesSent == 3)
        #expect(written.kinds.filter { $0 == "addresses" }.count == 3)
    }
}

/// Collects what a session writes.
final class WrittenMessages: Sendable {
    private let messages = Mutex<[KaspaMessage]>([])

    func append(_ message: KaspaMessage) {
        messages.withLock { $0.append(message) }
    }

    /// The payload kind of each message written, in order.
    var kinds: [String] {
        messages.withLock { list in
            list.map { message in
                switch message.payload {
                case .addresses: "addresses"
                case .version: "version"
                case .verack: "verack"
                case .ready: "ready"
                default: "other"
                }
            }
        }
    }
}
