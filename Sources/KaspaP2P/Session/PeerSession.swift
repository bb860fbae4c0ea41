public import GRPCCore

/// Writes messages to the peer: the response writer of an inbound RPC or the request writer of an outbound one.
public struct MessageWriter: Sendable {
    private let body: @Sendable (KaspaMessage) async throws -> Void
    private let end: (@Sendable () -> Void)?

    /// Wraps a write function and, for an outbound stream, the function that ends our side (END_STREAM).
    public init(
        _ body: @escaping @Sendable (KaspaMessage) async throws -> Void,
        finish: (@Sendable () -> Void)? = nil
    ) {
        self.body = body
        self.end = finish
    }

    /// Writes one message.
    public func write(_ message: KaspaMessage) async throws {
        try await body(message)
    }

    /// Ends our side of the stream, where the writer can (an inbound RPC's side ends when its handler returns).
    public func finish() {
        end?()
    }
}

/// Runs one Kaspa peer conversation over a `MessageStream` RPC in either role, as the
/// ``PeerSessionStateMachine`` decides: the handshake with a deadline per step, then the well-behaved-peer duties
/// (an Addresses reply to every RequestAddresses, Pong for every Ping, invs and unknown payloads drained) until the
/// configured policy, the peer, the idle timeout or shutdown ends it.
///
/// One task drives it: the one calling ``run(inbound:writer:clock:)``. It takes its inputs from a
/// ``SessionInbox`` fed by a reader task (the peer's messages), a timer (at most one pending sleep) and
/// ``release()``, and performs the machine's actions in order. Cancelling that task is the shutdown input.
public final class PeerSession: Sendable {
    private let local: LocalVersion
    private let configuration: PeerSessionConfiguration
    private let observer: any PeerSessionObserver
    private let inbox = SessionInbox()

    /// Creates a session that speaks for `local`.
    public init(local: LocalVersion, configuration: PeerSessionConfiguration, observer: any PeerSessionObserver) {
        self.local = local
        self.configuration = configuration
        self.observer = observer
    }

    /// Allows a `.closeAfterExchange` session to close (after its linger) once the address exchange is over, and
    /// settles a `.stayConnected` one. The host calls it when the session's probe has finished. Safe to call at any
    /// time, more than once, before or during ``run(inbound:writer:clock:)``.
    public func release() {
        inbox.post(.released)
    }

    /// Runs the conversation over a gRPC stream, timed by the continuous clock, until it ends; reports what
    /// happened. Never throws: failures are in the report.
    ///
    /// The concrete types let the compiler specialise the whole session for them: an unspecialised generic async
    /// function keeps every value of a generic type in task-allocated memory, and a task keeps its deepest
    /// allocation for its whole life, which for an idle peer is hours (benchmark figure 2b).
    public func run(inbound: RPCAsyncSequence<KaspaMessage, any Error>, writer: MessageWriter) async -> SessionReport {
        await drive(inbound: inbound, writer: writer, clock: ContinuousClock())
    }

    /// Runs the conversation until it ends and reports what happened. Never throws: failures are in the report.
    /// `clock` times every deadline (a manual clock in tests).
    public func run<Inbound: AsyncSequence<KaspaMessage, any Error> & Sendable, C: Clock<Duration>>(
        inbound: Inbound,
        writer: MessageWriter,
        clock: C = ContinuousClock()
    ) async -> SessionReport {
        await drive(inbound: inbound, writer: writer, clock: clock)
    }

    /// The body of both `run`s, specialised for the production types (the generic version serves tests).
    @_specialize(where Inbound == RPCAsyncSequence<KaspaMessage, any Error>, C == ContinuousClock)
    private func drive<Inbound: AsyncSequence<KaspaMessage, any Error> & Sendable, C: Clock<Duration>>(
        inbound: Inbound,
        writer: MessageWriter,
        clock: C
    ) async -> SessionReport {
        let inbox = self.inbox
        let driver = Driver(
            machine: PeerSessionStateMachine(local: local, configuration: configuration, startedAt: clock.now),
            clock: clock, inbox: inbox, observer: observer, writer: writer)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.read(inbound, into: inbox) }
            await withTaskCancellationHandler {
                await driver.run()
            } onCancel: {
                inbox.post(.shutdown)
            }
            group.cancelAll()
        }
        return driver.finish()
    }

    /// The reader: the peer's messages into the inbox, then how the stream ended.
    private static func read<Inbound: AsyncSequence<KaspaMessage, any Error>>(
        _ inbound: Inbound, into inbox: SessionInbox
    ) async {
        do {
            for try await message in inbound {
                await inbox.deliver(message)
            }
            inbox.post(.streamEnded)
        } catch is CancellationError {
            // The session is over.
        } catch {
            inbox.post(.streamFailed(String(describing: error)))
        }
    }
}

/// Performs a ``PeerSessionStateMachine``'s actions. Owned by the session's one task; not shared. A class, so that
/// the machine exists once, on the heap, and the task's frames only point at it.
private final class Driver<C: Clock<Duration>> {
    var machine: PeerSessionStateMachine<C.Instant>
    let clock: C
    let inbox: SessionInbox
    let observer: any PeerSessionObserver
    let writer: MessageWriter
    /// The pending sleep and the instant it wakes at.
    private var timer: (at: C.Instant, task: Task<Void, Never>)?

    init(
        machine: PeerSessionStateMachine<C.Instant>, clock: C, inbox: SessionInbox,
        observer: any PeerSessionObserver, writer: MessageWriter
    ) {
        self.machine = machine
        self.clock = clock
        self.inbox = inbox
        self.observer = observer
        self.writer = writer
    }

    func run() async {
        var actions = machine.start(at: clock.now)
        while true {
            await perform(actions)
            if machine.isClosed { return }
            actions = step(await inbox.next())
        }
    }

    /// Feeds one input to the machine.
    @inline(never)
    private func step(_ event: SessionInbox.Event) -> [PeerSessionStateMachine<C.Instant>.Action] {
        let now = clock.now
        switch event {
        case .message(let message): return machine.received(message, at: now)
        case .timerFired:
            timer = nil  // it fired: the machine asks for the next one
            return machine.timerFired(at: now)
        case .released: return machine.released(at: now)
        case .streamEnded: return machine.streamEnded(at: now)
        case .streamFailed(let text): return machine.streamFailed(text, at: now)
        case .shutdown: return machine.shutdown(at: now)
        }
    }

    /// The report; cancels the pending sleep.
    func finish() -> SessionReport {
        timer?.task.cancel()
        timer = nil
        return machine.report(at: clock.now)
    }

    private func perform(_ actions: [PeerSessionStateMachine<C.Instant>.Action]) async {
        var pending = actions[...]
        while let action = pending.popFirst() {
            switch action {
            case .send(let message):
                if let failure = await write(message) { pending = failure[...] }
            case .answerAddressRequest:
                let addresses = await observer.addressesToAdvertise()
                if let failure = await write(.addresses(Array(addresses.prefix(1000)))) { pending = failure[...] }
            case .setTimer(let instant):
                arm(at: instant)
            case .cancelTimer:
                timer?.task.cancel()
                timer = nil
            case .reportVersion(let version):
                await observer.peerVersionReceived(version)
            case .reportHandshakeCompleted:
                await observer.handshakeCompleted()
            case .reportAddresses(let addresses, let invalid, let rounds):
                await observer.addressesReceived(addresses, invalid: invalid, from: machine.peerVersion)
                let more = await observer.shouldRequestMoreAddresses(afterRounds: rounds)
                pending = (machine.addressDecision(wantsMore: more, at: clock.now) + pending)[...]
            case .reportSettled(let version, let duration):
                await observer.sessionSettled(version, handshakeDuration: duration)
            case .finishWriting:
                writer.finish()
            case .close:
                timer?.task.cancel()
                timer = nil
                return
            }
        }
    }

    /// Writes one message; a failed write is the machine's input (its actions replace what was left to do).
    private func write(_ message: KaspaMessage) async -> [PeerSessionStateMachine<C.Instant>.Action]? {
        do {
            try await writer.write(message)
            return nil
        } catch {
            return machine.streamFailed(String(describing: error), at: clock.now)
        }
    }

    /// Makes sure a timer fire comes at `instant`: a pending sleep that wakes earlier is kept (the machine asks
    /// again when it fires), a later one is replaced. Detached: the sleep needs none of the session task's
    /// task-locals, and copying them costs each timer a fresh allocation; the session cancels it itself.
    private func arm(at instant: C.Instant) {
        if let timer, timer.at <= instant { return }
        timer?.task.cancel()
        let clock = self.clock
        let inbox = self.inbox
        timer = (
            instant,
            Task.detached {
                do {
                    try await clock.sleep(until: instant, tolerance: nil)
                } catch {
                    return
                }
                inbox.post(.timerFired)
            }
        )
    }
}
