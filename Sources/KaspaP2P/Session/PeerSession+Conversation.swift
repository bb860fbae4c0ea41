import Synchronization

/// The message-handling half of a ``PeerSession``: reads the peer's messages, drives the handshake state machine,
/// performs the post-handshake duties and keeps the facts the report is made of.
///
/// The read loop is the only writer of `state` while it runs; ``finish(_:)`` reads it after the loop has ended.
/// The `Mutex` makes that hand-over safe when the loop is cancelled by the watchdog.
final class Conversation: Sendable {
    private struct State {
        var machine: HandshakeStateMachine
        var failure: HandshakeFailure?
        var peerVersion: PeerVersion?
        var versionReported = false
        var handshakeDuration: Duration?
        var messagesReceived = 0
        var pingsAnswered = 0
        var addressesSent = 0
        var addressesReceived = 0
        var unknownPayloads = 0
        var addressRoundsDone = 0
        var addressesRequested = 0
        var addressRoundsStopped = false
        var peerRequestAnswered = false
    }

    private let local: LocalVersion
    private let configuration: PeerSessionConfiguration
    private let observer: any PeerSessionObserver
    private let writer: MessageWriter
    private let startedAt: ContinuousClock.Instant
    private let state: Mutex<State>

    init(
        local: LocalVersion,
        configuration: PeerSessionConfiguration,
        observer: any PeerSessionObserver,
        writer: MessageWriter,
        startedAt: ContinuousClock.Instant
    ) {
        self.local = local
        self.configuration = configuration
        self.observer = observer
        self.writer = writer
        self.startedAt = startedAt
        self.state = Mutex(State(machine: HandshakeStateMachine(local: local)))
    }

    // MARK: - Read loop

    func readLoop<Inbound: AsyncSequence<KaspaMessage, any Error> & Sendable>(
        inbound: Inbound,
        session: PeerSession
    ) async throws -> Ending {
        session.setHandshakeDeadline(startedAt + configuration.versionTimeout)
        let startActions = state.withLock { $0.machine.start() }
        if let ending = try await perform(startActions, session: session) {
            return ending
        }
        for try await message in inbound {
            let completed = state.withLock { state in
                state.messagesReceived += 1
                return state.machine.awaiting == .nothing && state.failure == nil
            }
            if completed {
                if let ending = try await handleAfterHandshake(message, session: session) {
                    return ending
                }
                session.activity()
            } else {
                let actions = state.withLock { $0.machine.receive(message) }
                if let ending = try await perform(actions, session: session) {
                    return ending
                }
                updateHandshakeDeadline(session)
            }
        }
        return .peerClosed
    }

    /// Carries out the state machine's actions; returns an ending when the session must stop.
    private func perform(_ actions: [HandshakeStateMachine.Action], session: PeerSession) async throws -> Ending? {
        for action in actions {
            switch action {
            case .send(let message):
                try await writer.write(message)
            case .peerVersionAccepted(let version):
                await report(version)
                if configuration.afterHandshake == .stopAtPeerVersion {
                    return .probeComplete
                }
            case .completed:
                let elapsed = ContinuousClock.now - startedAt
                state.withLock { $0.handshakeDuration = elapsed }
                session.handshakeCompleted()
                await observer.handshakeCompleted()
                try await requestAddressesIfWanted(session: session)
            case .failed(let failure, let reject, let version):
                let elapsed = ContinuousClock.now - startedAt
                state.withLock {
                    $0.failure = failure
                    $0.handshakeDuration = elapsed
                }
                if let version {
                    await report(version)
                }
                if let reject {
                    try? await writer.write(.reject(reason: reject))
                }
                if version != nil, configuration.afterHandshake == .stopAtPeerVersion {
                    return .probeComplete
                }
                return failure.code == .peerRejected ? .peerRejected(failure.message) : .handshakeFailed(failure)
            }
        }
        return nil
    }

    private func report(_ version: PeerVersion) async {
        let first = state.withLock { state -> Bool in
            state.peerVersion = version
            defer { state.versionReported = true }
            return !state.versionReported
        }
        if first {
            await observer.peerVersionReceived(version)
        }
    }

    private func updateHandshakeDeadline(_ session: PeerSession) {
        switch state.withLock({ $0.machine.awaiting }) {
        case .version:
            break
        case .verack:
            session.setHandshakeDeadline(startedAt + configuration.verackTimeout)
        case .ready:
            session.setHandshakeDeadline(.now + configuration.readyTimeout)
        case .nothing:
            break
        }
    }

    // MARK: - After the handshake

    private func handleAfterHandshake(_ message: KaspaMessage, session: PeerSession) async throws -> Ending? {
        switch message.payload {
        case .ping(let ping):
            try await writer.write(.pong(nonce: ping.nonce))
            state.withLock { $0.pingsAnswered += 1 }
        case .requestAddresses:
            // Every RequestAddresses gets exactly one Addresses, as nodes answer them (crawlers ask repeatedly and
            // wait for each answer). Only an *unsolicited* Addresses makes a node disconnect.
            let addresses = await observer.addressesToAdvertise()
            try await writer.write(.addresses(Array(addresses.prefix(1000))))
            state.withLock {
                $0.addressesSent += 1
                $0.peerRequestAnswered = true
            }
            checkExchangeDone(session)
        case .addresses(let list):
            var valid: [PeerAddress] = []
            var invalid = 0
            for entry in list.addressList {
                switch entry.peerAddress() {
                case .success(let address): valid.append(address)
                case .failure: invalid += 1
                }
            }
            let peer = state.withLock { state -> PeerVersion? in
                state.addressesReceived += valid.count
                state.addressRoundsDone += 1
                return state.peerVersion
            }
            await observer.addressesReceived(valid, invalid: invalid, from: peer)
            let rounds = state.withLock { $0.addressRoundsDone }
            if await !observer.shouldRequestMoreAddresses(afterRounds: rounds) {
                state.withLock { $0.addressRoundsStopped = true }
            }
            try await requestAddressesIfWanted(session: session)
            checkExchangeDone(session)
        case .reject(let reject):
            return .peerRejected(String(decoding: reject.reason.utf8.prefix(2048), as: UTF8.self))
        case .none:
            state.withLock { $0.unknownPayloads += 1 }
        case .pong, .invRelayBlock, .invTransactions, .version, .verack, .ready:
            break  // drained: nothing to answer
        }
        return nil
    }

    private func requestAddressesIfWanted(session: PeerSession) async throws {
        let (done, sent, stopped) = state.withLock {
            ($0.addressRoundsDone, $0.addressesRequested, $0.addressRoundsStopped)
        }
        guard !stopped, done < configuration.addressRequestRounds, sent == done else { return }
        if done > 0 {
            try await Task.sleep(for: configuration.addressRequestSpacing)
        }
        state.withLock { $0.addressesRequested += 1 }
        try await writer.write(.requestAddresses)
    }

    private func checkExchangeDone(_ session: PeerSession) {
        let done = state.withLock { state in
            state.peerRequestAnswered
                && (state.addressRoundsStopped || state.addressRoundsDone >= configuration.addressRequestRounds)
        }
        if done {
            session.markExchangeDone()
        }
    }

    // MARK: - Report

    func finish(_ ending: Ending) async -> SessionReport {
        let reason: DisconnectReason
        var timeoutReject: String?
        switch ending {
        case .peerClosed:
            reason = .closedByPeer
            fail(HandshakeFailure(.closedByPeer, "the peer ended the stream during the handshake"))
        case .peerRejected(let text):
            reason = DisconnectReason("peer_rejected", text)
            fail(HandshakeFailure(.peerRejected, text))
        case .handshakeFailed(let failure):
            reason = DisconnectReason("handshake_failed", failure.description)
        case .handshakeTimedOut:
            let seconds = timeoutSeconds()
            let actions = state.withLock { $0.machine.timedOut(after: seconds) }
            for case .failed(let failure, let reject, _) in actions {
                state.withLock {
                    $0.failure = failure
                    $0.handshakeDuration = ContinuousClock.now - startedAt
                }
                timeoutReject = reject
            }
            reason = DisconnectReason("handshake_timeout", timeoutReject ?? "")
        case .probeComplete:
            reason = .probeComplete
            fail(HandshakeFailure(.stoppedAtVersion, "stopped after the peer's Version"))
        case .lingerElapsed:
            reason = .lingerElapsed
        case .idle:
            reason = .idleTimeout
        case .cancelled:
            reason = .shutdown
            fail(HandshakeFailure(.shutdown, "the session was cancelled"))
        case .transportFailed(let text):
            reason = DisconnectReason("transport_error", text)
            fail(HandshakeFailure(.transportError, text))
        }
        if let timeoutReject {
            try? await writer.write(.reject(reason: timeoutReject))
        }
        let elapsed = ContinuousClock.now - startedAt
        return state.withLock { state in
            SessionReport(
                handshakeFailure: state.failure,
                peerVersion: state.peerVersion,
                handshakeDuration: state.handshakeDuration,
                sessionDuration: elapsed,
                disconnectReason: reason,
                messagesReceived: state.messagesReceived,
                pingsAnswered: state.pingsAnswered,
                addressesSent: state.addressesSent,
                addressesReceived: state.addressesReceived,
                unknownPayloads: state.unknownPayloads + state.machine.drainedBeforeReady
            )
        }
    }

    /// Records `failure` unless the handshake already completed or already failed.
    private func fail(_ failure: HandshakeFailure) {
        state.withLock { state in
            guard state.failure == nil, state.machine.awaiting != .nothing else { return }
            state.failure = failure
            state.handshakeDuration = ContinuousClock.now - startedAt
        }
    }

    private func timeoutSeconds() -> Double {
        let duration: Duration
        switch state.withLock({ $0.machine.awaiting }) {
        case .version: duration = configuration.versionTimeout
        case .verack: duration = configuration.verackTimeout
        default: duration = configuration.readyTimeout
        }
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
