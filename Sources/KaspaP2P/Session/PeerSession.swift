import Synchronization

/// Writes messages to the peer: the response writer of an inbound RPC or the request writer of an outbound one.
public struct MessageWriter: Sendable {
    private let body: @Sendable (KaspaMessage) async throws -> Void

    /// Wraps a write function.
    public init(_ body: @escaping @Sendable (KaspaMessage) async throws -> Void) {
        self.body = body
    }

    /// Writes one message.
    public func write(_ message: KaspaMessage) async throws {
        try await body(message)
    }
}

/// Runs one Kaspa peer conversation over a `MessageStream` RPC in either role: the handshake with a deadline per
/// step, then the well-behaved-peer duties (one Addresses reply, Pong for every Ping, invs and unknown payloads
/// drained) until the configured policy, the peer, the idle timeout or cancellation ends it.
public final class PeerSession: Sendable {
    /// Why the watchdog woke.
    enum Expiry: Sendable {
        case handshakeStep
        case addressWaitOver
        case linger
        case idle
    }

    private struct ReleaseState {
        var released = false
        var exchangeDone = false
        var lingerArmed = false
    }

    private let local: LocalVersion
    private let configuration: PeerSessionConfiguration
    private let observer: any PeerSessionObserver
    private let timer: DeadlineTimer<Expiry>
    private let releaseState = Mutex(ReleaseState())

    /// Creates a session that speaks for `local`.
    public init(local: LocalVersion, configuration: PeerSessionConfiguration, observer: any PeerSessionObserver) {
        self.local = local
        self.configuration = configuration
        self.observer = observer
        self.timer = DeadlineTimer(deadline: .now + configuration.versionTimeout, reason: .handshakeStep)
    }

    /// Allows a `.closeAfterExchange` session to close (after its linger) once the address exchange is over.
    /// The host calls it when the session's probe has finished. Safe to call at any time, more than once.
    public func release() {
        releaseState.withLock { $0.released = true }
        armLingerIfReady()
    }

    /// Runs the conversation until it ends and reports what happened. Never throws: failures are in the report.
    public func run<Inbound: AsyncSequence<KaspaMessage, any Error> & Sendable>(
        inbound: Inbound,
        writer: MessageWriter
    ) async -> SessionReport {
        let conversation = Conversation(
            local: local,
            configuration: configuration,
            observer: observer,
            writer: writer,
            startedAt: .now
        )
        let ending: Ending
        do {
            ending = try await withThrowingTaskGroup(of: Ending.self) { group in
                group.addTask {
                    try await conversation.readLoop(inbound: inbound, session: self)
                }
                group.addTask {
                    try await self.watch(conversation)
                }
                let first = try await group.next() ?? .peerClosed
                group.cancelAll()
                return first
            }
        } catch is CancellationError {
            ending = .cancelled
        } catch {
            ending = .transportFailed(String(describing: error))
        }
        return await conversation.finish(ending)
    }

    /// Handles deadlines: handshake steps fail the handshake, the address wait arms the linger, the linger and
    /// the idle timeout end the session.
    private func watch(_ conversation: Conversation) async throws -> Ending {
        while true {
            switch try await timer.waitForExpiry() {
            case .handshakeStep:
                return .handshakeTimedOut
            case .addressWaitOver:
                markExchangeDone()
                if !releaseState.withLock({ $0.lingerArmed }) {
                    timer.set(.now + configuration.idleTimeout, reason: .idle)
                }
            case .linger:
                return .lingerElapsed
            case .idle:
                return .idle
            }
        }
    }

    // MARK: - Called by the conversation

    func setHandshakeDeadline(_ deadline: ContinuousClock.Instant) {
        timer.set(deadline, reason: .handshakeStep)
    }

    func handshakeCompleted() {
        switch configuration.afterHandshake {
        case .closeAfterExchange(let addressWait, _):
            timer.set(.now + addressWait, reason: .addressWaitOver)
        case .stayConnected, .stopAtPeerVersion:
            timer.set(.now + configuration.idleTimeout, reason: .idle)
        }
    }

    func activity() {
        guard !releaseState.withLock({ $0.lingerArmed }) else { return }
        if case .closeAfterExchange = configuration.afterHandshake, !releaseState.withLock({ $0.exchangeDone }) {
            return  // the address-wait deadline is in force
        }
        timer.set(.now + configuration.idleTimeout, reason: .idle)
    }

    func markExchangeDone() {
        releaseState.withLock { $0.exchangeDone = true }
        armLingerIfReady()
    }

    private func armLingerIfReady() {
        guard case .closeAfterExchange(_, let linger) = configuration.afterHandshake else { return }
        let arm = releaseState.withLock { state -> Bool in
            guard state.released, state.exchangeDone, !state.lingerArmed else { return false }
            state.lingerArmed = true
            return true
        }
        if arm {
            timer.set(.now + linger, reason: .linger)
        }
    }
}

/// How a session's tasks ended.
enum Ending: Sendable {
    case peerClosed
    case peerRejected(String)
    case handshakeFailed(HandshakeFailure)
    case handshakeTimedOut
    case probeComplete
    case lingerElapsed
    case idle
    case cancelled
    case transportFailed(String)
}
