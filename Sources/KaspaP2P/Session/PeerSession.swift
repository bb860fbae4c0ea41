public import GRPCCore
public import NIOCore
import NIOPosix

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

    /// Ends the session at once because the host needs its slot (disconnect reason `evicted`). Safe to call at
    /// any time, more than once.
    public func evict() {
        inbox.post(.evicted)
    }

    /// Runs the conversation over a gRPC stream until it ends; reports what happened. Never throws: failures are
    /// in the report. Deadlines are timed by the continuous clock and kept in `timerLoop`'s timer heap (one entry per
    /// session, no task; by default a loop of the shared group grpc-swift's transports run on).
    ///
    /// The concrete types let the compiler specialise the whole session for them: an unspecialised generic async
    /// function keeps every value of a generic type in task-allocated memory, and a task keeps its deepest
    /// allocation for its whole life, which for an idle peer is hours (benchmark figure 2b).
    public func run(
        inbound: RPCAsyncSequence<KaspaMessage, any Error>,
        writer: MessageWriter,
        timerLoop: (any EventLoop)? = nil
    ) async -> SessionReport {
        let loop = timerLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        return await drive(inbound: inbound, writer: writer, clock: ContinuousClock(), alarm: .eventLoop(loop))
    }

    /// Runs the conversation until it ends and reports what happened. Never throws: failures are in the report.
    /// `clock` times every deadline (a manual clock in tests), each one slept by a task of its own.
    public func run<Inbound: AsyncSequence<KaspaMessage, any Error> & Sendable, C: Clock<Duration>>(
        inbound: Inbound,
        writer: MessageWriter,
        clock: C = ContinuousClock()
    ) async -> SessionReport {
        await drive(inbound: inbound, writer: writer, clock: clock, alarm: .sleepingTask)
    }

    /// The body of both `run`s, specialised for the production types (the generic version serves tests).
    @_specialize(where Inbound == RPCAsyncSequence<KaspaMessage, any Error>, C == ContinuousClock)
    private func drive<Inbound: AsyncSequence<KaspaMessage, any Error> & Sendable, C: Clock<Duration>>(
        inbound: Inbound,
        writer: MessageWriter,
        clock: C,
        alarm: SessionAlarm<C>.Mechanism
    ) async -> SessionReport {
        let inbox = self.inbox
        let driver = Driver(
            machine: PeerSessionStateMachine(local: local, configuration: configuration, startedAt: clock.now),
            clock: clock, alarm: SessionAlarm(clock: clock, mechanism: alarm, inbox: inbox), inbox: inbox,
            observer: observer, writer: writer)
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
/// the machine exists once, on the heap, and the task's frames only point at it. The observer's calls are
/// synchronous, so nothing of theirs stays in the session task's memory.
private final class Driver<C: Clock<Duration>> {
    var machine: PeerSessionStateMachine<C.Instant>
    let clock: C
    var alarm: SessionAlarm<C>
    let inbox: SessionInbox
    let observer: any PeerSessionObserver
    let writer: MessageWriter

    init(
        machine: PeerSessionStateMachine<C.Instant>, clock: C, alarm: SessionAlarm<C>, inbox: SessionInbox,
        observer: any PeerSessionObserver, writer: MessageWriter
    ) {
        self.machine = machine
        self.clock = clock
        self.alarm = alarm
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
            alarm.fired()  // the machine asks for the next one
            return machine.timerFired(at: now)
        case .released: return machine.released(at: now)
        case .streamEnded: return machine.streamEnded(at: now)
        case .streamFailed(let text): return machine.streamFailed(text, at: now)
        case .shutdown: return machine.shutdown(at: now)
        case .evicted: return machine.evicted(at: now)
        }
    }

    /// The report, once the session is over.
    func finish() -> SessionReport {
        alarm.cancel()
        return machine.report(at: clock.now)
    }

    private func perform(_ actions: [PeerSessionStateMachine<C.Instant>.Action]) async {
        var pending = actions[...]
        while let action = pending.popFirst() {
            if case .close = action { return }
            if let message = synchronous(action, pending: &pending),
                let failure = await write(message)
            {
                pending = failure[...]
            }
        }
    }

    /// Performs an action that needs no wait; returns the message to write for one that does.
    @inline(never)
    private func synchronous(
        _ action: PeerSessionStateMachine<C.Instant>.Action,
        pending: inout ArraySlice<PeerSessionStateMachine<C.Instant>.Action>
    ) -> KaspaMessage? {
        switch action {
        case .send(let message):
            return message
        case .answerAddressRequest:
            return .addresses(Array(observer.addressesToAdvertise().prefix(1000)))
        case .setTimer(let instant):
            alarm.set(instant)
        case .cancelTimer:
            alarm.cancel()
        case .close:
            break  // `perform` stops before it; `finish()` disarms the alarm
        case .reportVersion(let version):
            observer.peerVersionReceived(version)
        case .reportHandshakeCompleted:
            observer.handshakeCompleted()
        case .reportAddresses(let addresses, let invalid, let rounds):
            observer.addressesReceived(addresses, invalid: invalid, from: machine.peerVersion)
            let more = observer.shouldRequestMoreAddresses(afterRounds: rounds)
            pending = (machine.addressDecision(wantsMore: more, at: clock.now) + pending)[...]
        case .reportSettled(let version, let duration):
            observer.sessionSettled(version, handshakeDuration: duration)
        case .finishWriting:
            writer.finish()
        }
        return nil
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
}
