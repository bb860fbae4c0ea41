import KaspaP2P
import TestSupport
import Testing

/// Every transition and every deadline of ``PeerSessionStateMachine``, with made-up instants: no sockets, no
/// clock, no waiting.
@Suite("Peer session state machine")
struct PeerSessionStateMachineTests {
    typealias Machine = PeerSessionStateMachine<ManualClock.Instant>
    typealias Action = Machine.Action

    let local = LocalVersion(network: .mainnet, userAgent: "/test:1/")

    static func at(_ milliseconds: Int) -> ManualClock.Instant {
        ManualClock.Instant(offset: .milliseconds(milliseconds))
    }

    /// Distinct durations, so every deadline is recognisable.
    static func configuration(
        _ after: PeerSessionConfiguration.AfterHandshake = .closeAfterExchange(
            addressWait: .seconds(4), linger: .seconds(2)),
        rounds: Int = 1,
        closeWait: Duration? = nil
    ) -> PeerSessionConfiguration {
        PeerSessionConfiguration(
            versionTimeout: .seconds(5), verackTimeout: .seconds(7), readyTimeout: .seconds(3),
            afterHandshake: after, addressRequestRounds: rounds, addressRequestSpacing: .milliseconds(250),
            idleTimeout: .seconds(60), closeWait: closeWait)
    }

    func machine(_ configuration: PeerSessionConfiguration = Self.configuration()) -> Machine {
        Machine(local: local, configuration: configuration, startedAt: Self.at(0))
    }

    static func version(network: String = "kaspa-mainnet") -> KaspaMessage {
        KaspaMessage.with { envelope in
            envelope.version = .with {
                $0.protocolVersion = 7
                $0.network = network
                $0.id = .init(LocalVersion.makeID())
                $0.userAgent = "/kaspad:1.0.0/"
            }
        }
    }

    static let peerVersion = version()
    static var peerVersionDecoded: PeerVersion {
        guard case .version(let version) = peerVersion.payload else { fatalError("not a Version") }
        return PeerVersion(version)
    }

    static func peerAddresses(_ count: Int) -> KaspaMessage {
        .addresses((0..<count).map { PeerAddress("198.51.100.\($0 + 1):16111")! })
    }

    /// A machine whose handshake completed at 1 s (Version and Verack at 0.5 s).
    func established(_ configuration: PeerSessionConfiguration = Self.configuration()) -> Machine {
        var machine = machine(configuration)
        _ = machine.start(at: Self.at(0))
        _ = machine.received(Self.peerVersion, at: Self.at(500))
        _ = machine.received(.verack, at: Self.at(500))
        _ = machine.received(.ready, at: Self.at(1000))
        return machine
    }

    // MARK: - The handshake

    @Test("Start: our Version goes out and the Version deadline is set")
    func start() {
        var machine = machine()
        let actions = machine.start(at: Self.at(0))
        #expect(actions.count == 2)
        guard case .send(let message) = actions.first, case .version = message.payload else {
            Issue.record("the first action must send our Version")
            return
        }
        #expect(actions.last == .setTimer(Self.at(5000)))
        #expect(machine.start(at: Self.at(10)) == [])
    }

    @Test("Version → report, Verack; Verack → Ready (deadline from then); Ready → complete, ask for addresses")
    func handshake() {
        var machine = machine()
        _ = machine.start(at: Self.at(0))
        #expect(
            machine.received(Self.peerVersion, at: Self.at(500)) == [
                .reportVersion(Self.peerVersionDecoded), .send(.verack), .setTimer(Self.at(7000)),
            ])
        #expect(machine.received(.verack, at: Self.at(600)) == [.send(.ready), .setTimer(Self.at(3600))])
        #expect(
            machine.received(.ready, at: Self.at(1000)) == [
                .reportHandshakeCompleted(.seconds(1)), .send(.requestAddresses), .setTimer(Self.at(5000)),
            ])
        let report = machine.report(at: Self.at(1000))
        #expect(report.handshakeCompleted)
        #expect(report.handshakeDuration == .seconds(1))
        #expect(report.messagesReceived == 3)
    }

    @Test("Verack before Version: Verack and Ready go out together on the Version")
    func verackFirst() {
        var machine = machine()
        _ = machine.start(at: Self.at(0))
        #expect(machine.received(.verack, at: Self.at(100)) == [])
        #expect(
            machine.received(Self.peerVersion, at: Self.at(200)) == [
                .reportVersion(Self.peerVersionDecoded), .send(.verack), .send(.ready), .setTimer(Self.at(3200)),
            ])
    }

    @Test(
        "Each step's deadline: no Version by 5 s, no Verack by 7 s, no Ready 3 s after ours",
        arguments: [
            (0, 5000, "timeout_version", "timeout expired after 5s"),
            (1, 7000, "timeout_verack", "timeout expired after 7s"),
            (2, 3600, "timeout_ready", "timeout expired after 3s"),
        ])
    func stepTimeouts(steps: Int, deadline: Int, code: String, reason: String) {
        var machine = machine()
        _ = machine.start(at: Self.at(0))
        if steps >= 1 { _ = machine.received(Self.peerVersion, at: Self.at(500)) }
        if steps >= 2 { _ = machine.received(.verack, at: Self.at(600)) }
        // A fire before the deadline (a pending sleep from an earlier step) only asks for the deadline again.
        #expect(machine.timerFired(at: Self.at(deadline - 1)) == [.setTimer(Self.at(deadline))])
        #expect(
            machine.timerFired(at: Self.at(deadline)) == [
                .send(.reject(reason: reason)), .close(DisconnectReason("handshake_timeout", reason)),
            ])
        let report = machine.report(at: Self.at(deadline))
        #expect(report.handshakeOutcome == code)
        #expect(report.handshakeDuration == .milliseconds(deadline))
        #expect(report.disconnectReason.code == "handshake_timeout")
        #expect(machine.isClosed)
        #expect(machine.received(.ready, at: Self.at(deadline + 1)) == [])
    }

    @Test("A probe stops at the peer's Version: no Verack")
    func stopAtVersion() {
        var machine = machine(Self.configuration(.stopAtPeerVersion))
        _ = machine.start(at: Self.at(0))
        #expect(
            machine.received(Self.peerVersion, at: Self.at(300)) == [
                .reportVersion(Self.peerVersionDecoded), .close(.probeComplete),
            ])
        #expect(machine.report(at: Self.at(300)).handshakeOutcome == "stopped_at_version")
    }

    @Test("A Version of another network is reported, rejected and closed")
    func wrongNetwork() {
        var machine = machine()
        _ = machine.start(at: Self.at(0))
        let actions = machine.received(Self.version(network: "kaspa-testnet-10"), at: Self.at(100))
        #expect(actions.count == 3)
        guard case .reportVersion = actions[0], case .send(let reject) = actions[1], case .reject = reject.payload,
            case .close(let reason) = actions[2]
        else {
            Issue.record("expected report, Reject, close; got \(actions)")
            return
        }
        #expect(reason.code == "handshake_failed")
        #expect(machine.report(at: Self.at(100)).handshakeOutcome == "wrong_network")
    }

    @Test("A peer's Reject during the handshake ends it")
    func rejectDuringHandshake() {
        var machine = machine()
        _ = machine.start(at: Self.at(0))
        #expect(
            machine.received(.reject(reason: "banned"), at: Self.at(100)) == [
                .close(DisconnectReason("peer_rejected", "banned"))
            ])
        #expect(machine.report(at: Self.at(100)).handshakeOutcome == "peer_rejected")
    }

    @Test("Invs and unknown payloads before Ready are drained and counted")
    func drainedBeforeReady() {
        var machine = machine()
        _ = machine.start(at: Self.at(0))
        #expect(machine.received(KaspaMessage(), at: Self.at(10)) == [])
        _ = machine.received(Self.peerVersion, at: Self.at(20))
        #expect(machine.received(KaspaMessage(), at: Self.at(30)) == [])
        #expect(machine.report(at: Self.at(30)).unknownPayloads == 2)
    }

    // MARK: - The address exchange, the release and the linger

    @Test("Exchange over (peer answered, our round answered) → waits for the release → linger → close")
    func exchangeReleaseLinger() {
        var machine = established()
        #expect(machine.received(.requestAddresses, at: Self.at(1100)) == [.answerAddressRequest])
        #expect(
            machine.received(Self.peerAddresses(3), at: Self.at(1200)).first
                == .reportAddresses(
                    [
                        PeerAddress("198.51.100.1:16111")!, PeerAddress("198.51.100.2:16111")!,
                        PeerAddress("198.51.100.3:16111")!,
                    ],
                    invalid: 0, rounds: 1))
        // Exchange over: idle deadline while the probe runs.
        #expect(machine.addressDecision(wantsMore: true, at: Self.at(1200)) == [.setTimer(Self.at(61_200))])
        #expect(machine.released(at: Self.at(1500)) == [.setTimer(Self.at(3500))])
        #expect(machine.released(at: Self.at(1600)) == [])
        // Messages during the linger are answered but do not move it.
        #expect(machine.received(.ping(nonce: 9), at: Self.at(2000)) == [.send(.pong(nonce: 9))])
        #expect(machine.timerFired(at: Self.at(3500)) == [.close(.lingerElapsed)])
        let report = machine.report(at: Self.at(3500))
        #expect(report.addressesSent == 1)
        #expect(report.addressesReceived == 3)
        #expect(report.pingsAnswered == 1)
        #expect(report.sessionDuration == .milliseconds(3500))
        #expect(report.disconnectReason == .lingerElapsed)
    }

    @Test("Released before the exchange ends: the linger starts when it does")
    func releasedEarly() {
        var machine = machine()
        _ = machine.start(at: Self.at(0))
        #expect(machine.released(at: Self.at(100)) == [])
        _ = machine.received(Self.peerVersion, at: Self.at(500))
        _ = machine.received(.verack, at: Self.at(500))
        _ = machine.received(.ready, at: Self.at(1000))
        _ = machine.received(.requestAddresses, at: Self.at(1100))
        _ = machine.received(Self.peerAddresses(1), at: Self.at(1200))
        #expect(machine.addressDecision(wantsMore: true, at: Self.at(1200)) == [.setTimer(Self.at(3200))])
    }

    @Test("A peer that never asks: the address wait ends the exchange")
    func addressWait() {
        var machine = established(Self.configuration(rounds: 0))
        _ = machine.released(at: Self.at(1000))
        #expect(machine.timerFired(at: Self.at(4999)) == [.setTimer(Self.at(5000))])
        #expect(machine.timerFired(at: Self.at(5000)) == [.setTimer(Self.at(7000))])
        #expect(machine.timerFired(at: Self.at(7000)) == [.close(.lingerElapsed)])
    }

    @Test("Every RequestAddresses gets its own Addresses")
    func everyRequestAnswered() {
        var machine = established()
        for _ in 0..<3 {
            #expect(machine.received(.requestAddresses, at: Self.at(1100)) == [.answerAddressRequest])
        }
        #expect(machine.report(at: Self.at(1100)).addressesSent == 3)
    }

    @Test("Several rounds: the next RequestAddresses goes out after the spacing; the host can stop them")
    func rounds() {
        var machine = established(Self.configuration(rounds: 3))
        _ = machine.received(.requestAddresses, at: Self.at(1100))
        _ = machine.received(Self.peerAddresses(1), at: Self.at(1200))
        #expect(machine.addressDecision(wantsMore: true, at: Self.at(1200)) == [.setTimer(Self.at(1450))])
        #expect(machine.timerFired(at: Self.at(1450)) == [.send(.requestAddresses), .setTimer(Self.at(5000))])
        _ = machine.received(Self.peerAddresses(1), at: Self.at(1500))
        // The host wants no more: the exchange is over with two of three rounds.
        #expect(machine.addressDecision(wantsMore: false, at: Self.at(1500)) == [.setTimer(Self.at(61_500))])
    }

    @Test("A peer's Reject after the handshake ends the session; the handshake stays completed")
    func rejectAfterHandshake() {
        var machine = established()
        #expect(
            machine.received(.reject(reason: "bye"), at: Self.at(2000)) == [
                .close(DisconnectReason("peer_rejected", "bye"))
            ])
        #expect(machine.report(at: Self.at(2000)).handshakeCompleted)
    }

    // MARK: - Staying, idling, settling

    @Test("Stay: every message moves the idle deadline; nothing for 60 s closes")
    func idle() {
        var machine = machine(Self.configuration(.stayConnected, rounds: 0))
        _ = machine.start(at: Self.at(0))
        _ = machine.received(Self.peerVersion, at: Self.at(500))
        _ = machine.received(.verack, at: Self.at(500))
        #expect(
            machine.received(.ready, at: Self.at(1000)) == [
                .reportHandshakeCompleted(.seconds(1)), .setTimer(Self.at(61_000)),
            ])
        #expect(
            machine.received(.ping(nonce: 1), at: Self.at(30_000)) == [
                .send(.pong(nonce: 1)), .setTimer(Self.at(90_000)),
            ])
        #expect(machine.timerFired(at: Self.at(61_000)) == [.setTimer(Self.at(90_000))])
        #expect(machine.timerFired(at: Self.at(90_000)) == [.close(.idleTimeout)])
    }

    @Test("Stay: settled once, when both the handshake and the release are in (either order)")
    func settled() {
        var early = machine(Self.configuration(.stayConnected, rounds: 0))
        _ = early.start(at: Self.at(0))
        _ = early.released(at: Self.at(10))
        _ = early.received(Self.peerVersion, at: Self.at(500))
        _ = early.received(.verack, at: Self.at(500))
        let actions = early.received(.ready, at: Self.at(1000))
        #expect(actions.contains(.reportSettled(Self.peerVersionDecoded, handshakeDuration: .seconds(1))))

        var late = established(Self.configuration(.stayConnected, rounds: 0))
        #expect(
            late.released(at: Self.at(2000)) == [
                .reportSettled(Self.peerVersionDecoded, handshakeDuration: .seconds(1))
            ])
        #expect(late.released(at: Self.at(2100)) == [])
        #expect(late.report(at: Self.at(2100)).settled)
        #expect(!established().report(at: Self.at(2100)).settled)
    }

    // MARK: - Endings

    @Test("The peer ends its stream: during the handshake a failure, after it a normal end")
    func streamEnded() {
        var early = machine()
        _ = early.start(at: Self.at(0))
        #expect(early.streamEnded(at: Self.at(100)) == [.close(.closedByPeer)])
        #expect(early.report(at: Self.at(100)).handshakeOutcome == "closed_by_peer")

        var late = established()
        #expect(late.streamEnded(at: Self.at(2000)) == [.close(.closedByPeer)])
        #expect(late.report(at: Self.at(2000)).handshakeCompleted)
    }

    @Test("A transport failure and shutdown end the session at once")
    func failureAndShutdown() {
        var failed = machine()
        _ = failed.start(at: Self.at(0))
        #expect(failed.streamFailed("reset", at: Self.at(50)) == [.close(DisconnectReason("transport_error", "reset"))])
        #expect(failed.report(at: Self.at(50)).handshakeOutcome == "transport_error")

        var stopping = machine()
        _ = stopping.start(at: Self.at(0))
        #expect(stopping.shutdown(at: Self.at(50)) == [.close(.shutdown)])
        #expect(stopping.report(at: Self.at(50)).handshakeOutcome == "shutdown")
        #expect(stopping.shutdown(at: Self.at(60)) == [])

        var staying = established(Self.configuration(.stayConnected, rounds: 0))
        #expect(staying.shutdown(at: Self.at(5000)) == [.close(.shutdown)])
        #expect(staying.report(at: Self.at(5000)).handshakeCompleted)
    }

    @Test("The polite close: END_STREAM, then read until the peer ends its side or the close wait is over")
    func politeClose() {
        let configuration = Self.configuration(
            .closeAfterExchange(addressWait: .seconds(4), linger: .zero), rounds: 0, closeWait: .seconds(2))
        var ended = established(configuration)
        _ = ended.released(at: Self.at(1000))
        _ = ended.received(.requestAddresses, at: Self.at(1100))
        #expect(ended.timerFired(at: Self.at(1100)) == [.finishWriting, .setTimer(Self.at(3100))])
        // What the peer still sends is read and ignored.
        #expect(ended.received(.ping(nonce: 1), at: Self.at(1200)) == [])
        #expect(ended.streamEnded(at: Self.at(1300)) == [.close(.lingerElapsed)])
        // The session lasted until our END_STREAM; the drain is not part of it.
        #expect(ended.report(at: Self.at(1300)).sessionDuration == .milliseconds(1100))

        var silent = established(configuration)
        _ = silent.released(at: Self.at(1000))
        _ = silent.received(.requestAddresses, at: Self.at(1100))
        _ = silent.timerFired(at: Self.at(1100))
        #expect(silent.timerFired(at: Self.at(3100)) == [.close(.lingerElapsed)])

        var stopAtVersion = machine(Self.configuration(.stopAtPeerVersion, closeWait: .seconds(2)))
        _ = stopAtVersion.start(at: Self.at(0))
        #expect(
            stopAtVersion.received(Self.peerVersion, at: Self.at(100)) == [
                .reportVersion(Self.peerVersionDecoded), .finishWriting, .setTimer(Self.at(2100)),
            ])
        #expect(stopAtVersion.shutdown(at: Self.at(200)) == [.close(.probeComplete)])
    }
}
