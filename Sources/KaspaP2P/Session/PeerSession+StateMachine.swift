/// One peer session's whole life as a value-type state machine: the handshake, the address exchange, waiting for
/// the host's release, the linger or the stay, and the polite close. Inputs go in (a message, a timer fire, the
/// release, the host's answer about more address rounds, the end of the peer's stream, shutdown) and actions come
/// out (send, set the timer, report to the host, close). It does no I/O and reads no clock: every input carries
/// the instant it happened at, so tests drive it with made-up instants. ``PeerSession`` performs the actions on
/// one task.
///
/// Its inputs are not inlined into the async driver: what a synchronous call needs then lives on the thread's
/// stack, not in the session task's memory, which a task keeps at its largest for its whole life (figure 2b).
///
/// Every role is a configuration of this machine: the inbound session (`closeAfterExchange` or `stayConnected`),
/// the dial-back (`closeAfterExchange` with a `closeWait`, released at once), the crawl visit and the announcement.
public struct PeerSessionStateMachine<Instant: InstantProtocol & Sendable>: Sendable
where Instant.Duration == Duration {
    /// What the driver must do, in order.
    public enum Action: Sendable, Equatable {
        /// Write this message to the peer.
        case send(KaspaMessage)
        /// Answer the peer's RequestAddresses with one Addresses message of the host's addresses.
        case answerAddressRequest
        /// Make sure a ``PeerSessionStateMachine/timerFired(at:)`` comes at or soon after this instant (an
        /// earlier wake-up already pending also does: the machine asks again then).
        case setTimer(Instant)
        /// No deadline is pending any more.
        case cancelTimer
        /// The peer's Version arrived (valid or not); reported once, before anything is sent in reply.
        indirect case reportVersion(PeerVersion)
        /// The handshake completed after this long.
        case reportHandshakeCompleted(Duration)
        /// An Addresses message arrived with these valid entries (`invalid` skipped), the `rounds`-th answered;
        /// the driver tells the host and feeds its answer to ``addressDecision(wantsMore:at:)``.
        indirect case reportAddresses([PeerAddress], invalid: Int, rounds: Int)
        /// A `stayConnected` session is established: handshake complete and released (the host publishes what it
        /// knows so far). Reported at most once.
        indirect case reportSettled(PeerVersion, handshakeDuration: Duration)
        /// End our side of the stream (END_STREAM) and keep reading until the peer ends its side.
        case finishWriting
        /// The session is over; the driver stops and takes ``report()``.
        case close(DisconnectReason)
    }

    /// The phases after the handshake.
    enum Phase: Sendable, Equatable {
        /// `closeAfterExchange`: waiting for the address exchange to end, at the latest at `until`.
        case exchanging(until: Instant)
        /// The exchange is over and the host has not released the session yet; idle at `idleAt`.
        case awaitingRelease(idleAt: Instant)
        /// Released and done: closing at `until`.
        case lingering(until: Instant)
        /// `stayConnected`: until the peer leaves or nothing arrives by `idleAt`.
        case staying(idleAt: Instant)
    }

    /// Our RequestAddresses rounds and the peer's requests.
    struct AddressExchange: Sendable, Equatable {
        var requested = 0
        var answered = 0
        /// The host wants no more rounds.
        var stopped = false
        /// The host has not yet said whether it wants another round.
        var awaitingDecision = false
        /// When the next RequestAddresses goes out (the spacing between rounds).
        var nextRequestAt: Instant?
        /// The peer asked and got our Addresses.
        var peerRequestAnswered = false
    }

    /// Where the session is, with the data of that state.
    enum State: Sendable {
        /// Not started.
        case idle
        /// The handshake runs; `deadline` is the current step's.
        case handshaking(HandshakeStateMachine, deadline: Instant)
        /// The handshake completed.
        case established(Phase, AddressExchange)
        /// We ended our side and wait, until `until` at the latest, for the peer to end its side.
        case draining(DisconnectReason, until: Instant)
        /// Over.
        case closed(DisconnectReason)
    }

    private let local: LocalVersion
    private let configuration: PeerSessionConfiguration
    private(set) var state = State.idle
    private var startedAt: Instant
    private var closedAt: Instant?
    private var timerAt: Instant?
    private var released = false
    private var settled = false
    private var versionReported = false
    /// The peer's Version, once it arrived.
    public private(set) var peerVersion: PeerVersion?
    private var failure: HandshakeFailure?
    private var handshakeDuration: Duration?
    private var counters = Counters()

    private struct Counters: Sendable {
        var messagesReceived = 0
        var pingsAnswered = 0
        var addressesSent = 0
        var addressesReceived = 0
        var unknownPayloads = 0
        var drainedBeforeReady = 0
        var unsolicitedAddresses = 0
    }

    /// The most entries an Addresses message may carry: rusty-kaspa's limit on what it receives (more is a
    /// protocol error that ends the session there too).
    public static var maxAddressesPerMessage: Int { 2500 }

    /// Creates a machine for a session that speaks for `local`.
    public init(local: LocalVersion, configuration: PeerSessionConfiguration, startedAt: Instant) {
        self.local = local
        self.configuration = configuration
        self.startedAt = startedAt
    }

    /// True once the session is over.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    // MARK: - Inputs

    /// Starts the session: our Version goes out at once.
    @inline(never)
    public mutating func start(at now: Instant) -> [Action] {
        guard case .idle = state else { return [] }
        startedAt = now
        var handshake = HandshakeStateMachine(local: local)
        let sends = handshake.start()
        state = .handshaking(handshake, deadline: now.advanced(by: configuration.versionTimeout))
        return translate(sends, at: now) + timerActions()
    }

    /// One message from the peer.
    @inline(never)
    public mutating func received(_ message: KaspaMessage, at now: Instant) -> [Action] {
        var actions: [Action]
        switch state {
        case .idle, .draining, .closed:
            return []
        case .handshaking(var handshake, let deadline):
            counters.messagesReceived += 1
            let step = handshake.awaiting
            let steps = handshake.receive(message)
            counters.drainedBeforeReady = handshake.drainedBeforeReady
            let next = handshake.awaiting == step ? deadline : stepDeadline(handshake.awaiting, at: now)
            state = .handshaking(handshake, deadline: next)
            actions = translate(steps, at: now)
        case .established(let phase, var exchange):
            counters.messagesReceived += 1
            actions = afterHandshake(message, exchange: &exchange, at: now)
            if case .established = state {
                state = .established(activity(phase, at: now), exchange)
                if case .established(let phase, let exchange) = state {
                    actions += exchangeProgress(phase, exchange, at: now)
                }
            }
        }
        return actions + timerActions()
    }

    /// The timer fired: every deadline at or before `now` takes effect.
    @inline(never)
    public mutating func timerFired(at now: Instant) -> [Action] {
        timerAt = nil
        var actions: [Action] = []
        switch state {
        case .idle, .closed:
            break
        case .handshaking(var handshake, let deadline):
            guard deadline <= now else { break }
            for case .failed(let failure, let reject, _) in handshake.timedOut(
                after: timeoutSeconds(handshake.awaiting))
            {
                record(failure, at: now)
                if let reject { actions.append(.send(.reject(reason: reject))) }
                actions += close(DisconnectReason("handshake_timeout", reject ?? ""), at: now)
            }
        case .established(let phase, var exchange):
            if let next = exchange.nextRequestAt, next <= now {
                exchange.nextRequestAt = nil
                exchange.requested += 1
                actions.append(.send(.requestAddresses))
            }
            switch phase {
            case .exchanging(let until) where until <= now:
                state = .established(phase, exchange)
                actions += exchangeOver(at: now)
            case .awaitingRelease(let idleAt) where idleAt <= now, .staying(let idleAt) where idleAt <= now:
                actions += close(.idleTimeout, at: now)
            case .lingering(let until) where until <= now:
                actions += close(.lingerElapsed, at: now)
            default:
                state = .established(phase, exchange)
            }
        case .draining(let reason, let until):
            if until <= now { actions += finalClose(reason) }
        }
        return actions + timerActions()
    }

    /// The host released the session (its probe is over): a finished exchange lingers and closes, a staying
    /// session is settled.
    @inline(never)
    public mutating func released(at now: Instant) -> [Action] {
        guard !released else { return [] }
        released = true
        var actions: [Action] = []
        if case .established(let phase, let exchange) = state {
            switch phase {
            case .awaitingRelease:
                state = .established(.lingering(until: now.advanced(by: lingerDuration)), exchange)
            case .staying:
                actions += settle()
            case .exchanging, .lingering:
                break
            }
        }
        return actions + timerActions()
    }

    /// The host's answer after ``Action/reportAddresses(_:invalid:rounds:)``: whether to ask for more.
    @inline(never)
    public mutating func addressDecision(wantsMore: Bool, at now: Instant) -> [Action] {
        guard case .established(let phase, var exchange) = state, exchange.awaitingDecision else { return [] }
        exchange.awaitingDecision = false
        if !wantsMore { exchange.stopped = true }
        var actions = requestAddressesIfWanted(&exchange, at: now)
        state = .established(phase, exchange)
        actions += exchangeProgress(phase, exchange, at: now)
        return actions + timerActions()
    }

    /// The peer ended its side of the stream.
    @inline(never)
    public mutating func streamEnded(at now: Instant) -> [Action] {
        guard !isIdle else { return [] }
        return end(
            .closedByPeer, HandshakeFailure(.closedByPeer, "the peer ended the stream during the handshake"), at: now)
    }

    /// The stream failed below the Kaspa protocol (undecodable bytes, a reset, a failed write).
    @inline(never)
    public mutating func streamFailed(_ description: String, at now: Instant) -> [Action] {
        guard !isIdle else { return [] }
        return end(
            DisconnectReason("transport_error", description), HandshakeFailure(.transportError, description), at: now)
    }

    /// The sensor is shutting down: the session ends now, without a polite close (also before it started).
    @inline(never)
    public mutating func shutdown(at now: Instant) -> [Action] {
        end(.shutdown, HandshakeFailure(.shutdown, "the session was cancelled"), at: now)
    }

    /// The host needs this session's slot for a newcomer: the session ends now, without a polite close.
    @inline(never)
    public mutating func evicted(at now: Instant) -> [Action] {
        end(.evicted, HandshakeFailure(.capacity, "evicted for a newer peer"), at: now)
    }

    /// Ends the session at once for a reason outside it: a drain in progress keeps the reason it had, and
    /// `failure` counts only if the handshake was still running.
    private mutating func end(_ reason: DisconnectReason, _ failure: HandshakeFailure, at now: Instant) -> [Action] {
        switch state {
        case .closed:
            return []
        case .draining(let reason, _):
            return finalClose(reason) + timerActions()
        case .idle, .handshaking, .established:
            record(failure, at: now)
            return finalClose(reason, at: now) + timerActions()
        }
    }

    private var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    // MARK: - The report

    /// What happened, once the session is closed (before that, what happened so far).
    @inline(never)
    public func report(at now: Instant) -> SessionReport {
        SessionReport(
            handshakeFailure: failure,
            peerVersion: peerVersion,
            handshakeDuration: handshakeDuration,
            sessionDuration: startedAt.duration(to: closedAt ?? now),
            disconnectReason: {
                if case .closed(let reason) = state { return reason }
                if case .draining(let reason, _) = state { return reason }
                return .shutdown
            }(),
            messagesReceived: counters.messagesReceived,
            pingsAnswered: counters.pingsAnswered,
            addressesSent: counters.addressesSent,
            addressesReceived: counters.addressesReceived,
            unknownPayloads: counters.unknownPayloads + counters.drainedBeforeReady,
            unsolicitedAddresses: counters.unsolicitedAddresses,
            settled: settled
        )
    }

    // MARK: - The handshake

    /// Turns the handshake machine's actions into the session's.
    private mutating func translate(_ steps: [HandshakeStateMachine.Action], at now: Instant) -> [Action] {
        var actions: [Action] = []
        for step in steps {
            switch step {
            case .send(let message):
                actions.append(.send(message))
            case .peerVersionAccepted(let version):
                actions += reportVersion(version)
                if configuration.afterHandshake == .stopAtPeerVersion {
                    record(HandshakeFailure(.stoppedAtVersion, "stopped after the peer's Version"), at: now)
                    return actions + close(.probeComplete, at: now)
                }
            case .completed:
                actions += handshakeCompleted(at: now)
            case .failed(let failure, let reject, let version):
                record(failure, at: now)
                if let version { actions += reportVersion(version) }
                if let reject { actions.append(.send(.reject(reason: reject))) }
                if version != nil, configuration.afterHandshake == .stopAtPeerVersion {
                    return actions + close(.probeComplete, at: now)
                }
                let reason =
                    failure.code == .peerRejected
                    ? DisconnectReason("peer_rejected", failure.message)
                    : DisconnectReason("handshake_failed", failure.description)
                return actions + close(reason, at: now)
            }
        }
        return actions
    }

    private mutating func reportVersion(_ version: PeerVersion) -> [Action] {
        peerVersion = version
        guard !versionReported else { return [] }
        versionReported = true
        return [.reportVersion(version)]
    }

    private mutating func handshakeCompleted(at now: Instant) -> [Action] {
        let elapsed = startedAt.duration(to: now)
        handshakeDuration = elapsed
        var exchange = AddressExchange()
        let phase: Phase
        switch configuration.afterHandshake {
        case .closeAfterExchange(let addressWait, _):
            phase = .exchanging(until: now.advanced(by: addressWait))
        case .stayConnected, .stopAtPeerVersion:
            phase = .staying(idleAt: now.advanced(by: configuration.idleTimeout))
        }
        var actions: [Action] = [.reportHandshakeCompleted(elapsed)]
        actions += requestAddressesIfWanted(&exchange, at: now)
        state = .established(phase, exchange)
        if case .staying = phase, released {
            actions += settle()
        }
        if case .established(let phase, let exchange) = state {
            actions += exchangeProgress(phase, exchange, at: now)
        }
        return actions
    }

    /// The deadline of the step the handshake just moved to: Verack counts from the start (like Version), Ready
    /// from the moment ours went out.
    private func stepDeadline(_ awaiting: HandshakeStateMachine.Awaiting, at now: Instant) -> Instant {
        switch awaiting {
        case .version, .nothing: startedAt.advanced(by: configuration.versionTimeout)
        case .verack: startedAt.advanced(by: configuration.verackTimeout)
        case .ready: now.advanced(by: configuration.readyTimeout)
        }
    }

    private func timeoutSeconds(_ awaiting: HandshakeStateMachine.Awaiting) -> Double {
        let duration: Duration
        switch awaiting {
        case .version: duration = configuration.versionTimeout
        case .verack: duration = configuration.verackTimeout
        default: duration = configuration.readyTimeout
        }
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    // MARK: - After the handshake

    private mutating func afterHandshake(
        _ message: KaspaMessage, exchange: inout AddressExchange, at now: Instant
    ) -> [Action] {
        guard case .established(let phase, _) = state else { return [] }
        switch message.payload {
        case .ping(let ping):
            counters.pingsAnswered += 1
            return [.send(.pong(nonce: ping.nonce))]
        case .requestAddresses:
            // Every RequestAddresses gets exactly one Addresses, as nodes answer them (crawlers ask repeatedly and
            // wait for each answer). Only an *unsolicited* Addresses makes a node disconnect.
            counters.addressesSent += 1
            exchange.peerRequestAnswered = true
            state = .established(phase, exchange)
            return [.answerAddressRequest]
        case .addresses(let list):
            let count = list.addressList.count
            guard count <= Self.maxAddressesPerMessage else {
                // Nodes treat more as a protocol error and disconnect; so does the sensor (nothing is stored).
                return close(
                    DisconnectReason(
                        "protocol_error",
                        "Addresses with \(count) entries, more than \(Self.maxAddressesPerMessage)"),
                    at: now)
            }
            guard exchange.requested > exchange.answered else {
                // Unsolicited: nothing of ours asked for it. Counted and ignored, never stored.
                counters.unsolicitedAddresses += 1
                return []
            }
            var valid: [PeerAddress] = []
            var invalid = 0
            for entry in list.addressList {
                switch entry.peerAddress() {
                case .success(let address): valid.append(address)
                case .failure: invalid += 1
                }
            }
            counters.addressesReceived += valid.count
            exchange.answered += 1
            exchange.awaitingDecision = true
            state = .established(phase, exchange)
            return [.reportAddresses(valid, invalid: invalid, rounds: exchange.answered)]
        case .reject(let reject):
            return close(
                DisconnectReason("peer_rejected", PeerVersion.cut(reject.reason, to: 2048)),
                at: now)
        case .none:
            counters.unknownPayloads += 1
            return []
        case .pong, .invRelayBlock, .invTransactions, .version, .verack, .ready:
            return []  // drained: nothing to answer
        }
    }

    /// Anything the peer sends keeps an idle session open; the address wait and the linger are not moved.
    private func activity(_ phase: Phase, at now: Instant) -> Phase {
        switch phase {
        case .awaitingRelease: .awaitingRelease(idleAt: now.advanced(by: configuration.idleTimeout))
        case .staying: .staying(idleAt: now.advanced(by: configuration.idleTimeout))
        case .exchanging, .lingering: phase
        }
    }

    private func requestAddressesIfWanted(_ exchange: inout AddressExchange, at now: Instant) -> [Action] {
        guard !exchange.stopped, !exchange.awaitingDecision, exchange.nextRequestAt == nil,
            exchange.answered < configuration.addressRequestRounds, exchange.requested == exchange.answered
        else { return [] }
        if exchange.answered > 0 {
            exchange.nextRequestAt = now.advanced(by: configuration.addressRequestSpacing)
            return []
        }
        exchange.requested += 1
        return [.send(.requestAddresses)]
    }

    /// Ends the exchange once the peer's request is answered and our rounds are done or stopped.
    private mutating func exchangeProgress(_ phase: Phase, _ exchange: AddressExchange, at now: Instant) -> [Action] {
        guard case .exchanging = phase, exchange.peerRequestAnswered, !exchange.awaitingDecision,
            exchange.stopped || exchange.answered >= configuration.addressRequestRounds
        else { return [] }
        return exchangeOver(at: now)
    }

    private mutating func exchangeOver(at now: Instant) -> [Action] {
        guard case .established(.exchanging, let exchange) = state else { return [] }
        let phase: Phase =
            released
            ? .lingering(until: now.advanced(by: lingerDuration))
            : .awaitingRelease(idleAt: now.advanced(by: configuration.idleTimeout))
        state = .established(phase, exchange)
        return []
    }

    private mutating func settle() -> [Action] {
        guard !settled, let peerVersion, let handshakeDuration else { return [] }
        settled = true
        return [.reportSettled(peerVersion, handshakeDuration: handshakeDuration)]
    }

    private var lingerDuration: Duration {
        if case .closeAfterExchange(_, let linger) = configuration.afterHandshake { return linger }
        return .zero
    }

    // MARK: - Closing

    /// Records `failure` unless the handshake already completed or already failed.
    private mutating func record(_ failure: HandshakeFailure, at now: Instant) {
        guard self.failure == nil else { return }
        if case .established = state { return }
        self.failure = failure
        handshakeDuration = startedAt.duration(to: now)
    }

    /// Closes on our initiative: politely (END_STREAM, then read until the peer ends its side, within
    /// `closeWait`) when the configuration asks for it, else at once.
    private mutating func close(_ reason: DisconnectReason, at now: Instant) -> [Action] {
        guard let closeWait = configuration.closeWait else { return finalClose(reason, at: now) }
        closedAt = now
        state = .draining(reason, until: now.advanced(by: closeWait))
        return [.finishWriting]
    }

    private mutating func finalClose(_ reason: DisconnectReason, at now: Instant) -> [Action] {
        closedAt = now
        return finalClose(reason)
    }

    /// The end, keeping the instant the session closed (a drain after it is not part of the session).
    private mutating func finalClose(_ reason: DisconnectReason) -> [Action] {
        state = .closed(reason)
        return [.close(reason)]
    }

    // MARK: - The timer

    private var earliestDeadline: Instant? {
        switch state {
        case .idle, .closed:
            return nil
        case .handshaking(_, let deadline), .draining(_, let deadline):
            return deadline
        case .established(let phase, let exchange):
            let phaseDeadline: Instant
            switch phase {
            case .exchanging(let until), .lingering(let until): phaseDeadline = until
            case .awaitingRelease(let idleAt), .staying(let idleAt): phaseDeadline = idleAt
            }
            guard let next = exchange.nextRequestAt else { return phaseDeadline }
            return min(next, phaseDeadline)
        }
    }

    /// Tells the driver when the next deadline is, when that changed.
    private mutating func timerActions() -> [Action] {
        let earliest = earliestDeadline
        guard earliest != timerAt else { return [] }
        timerAt = earliest
        if let earliest { return [.setTimer(earliest)] }
        return isClosed ? [] : [.cancelTimer]
    }
}
