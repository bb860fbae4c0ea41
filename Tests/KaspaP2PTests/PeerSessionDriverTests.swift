import KaspaP2P
import Synchronization
import TestSupport
import Testing

/// ``PeerSession`` driving its state machine over an in-memory stream, timed by a manual clock: no sockets and
/// no waiting on wall-clock time.
@Suite("Peer session driver (manual clock)")
struct PeerSessionDriverTests {
    let local = LocalVersion(network: .mainnet, userAgent: "/test:1/")

    /// Our side of the stream as the peer sees it.
    final class Wire: Sendable {
        let written = Mutex<[KaspaMessage]>([])
        let finished = Atomic(false)
        let inbound: AsyncThrowingStream<KaspaMessage, any Error>
        let peer: AsyncThrowingStream<KaspaMessage, any Error>.Continuation

        init() {
            (inbound, peer) = AsyncThrowingStream<KaspaMessage, any Error>.makeStream()
        }

        var writer: MessageWriter {
            MessageWriter(
                { message in self.written.withLock { $0.append(message) } },
                finish: { self.finished.store(true, ordering: .relaxed) })
        }

        func count(where predicate: (KaspaMessage) -> Bool) -> Int {
            written.withLock { $0.filter(predicate).count }
        }

        func handshake() {
            peer.yield(PeerSessionStateMachineTests.peerVersion)
            peer.yield(.verack)
            peer.yield(.ready)
        }
    }

    /// Counts completed handshakes.
    final class Progress: PeerSessionObserver {
        let completed = Atomic(0)
        func handshakeCompleted() { completed.add(1, ordering: .relaxed) }
        var isComplete: Bool { completed.load(ordering: .relaxed) == 1 }
    }

    static func isAddresses(_ message: KaspaMessage) -> Bool {
        if case .addresses = message.payload { return true }
        return false
    }

    static func isReady(_ message: KaspaMessage) -> Bool {
        if case .ready = message.payload { return true }
        return false
    }

    func start(
        _ configuration: PeerSessionConfiguration, wire: Wire, clock: ManualClock,
        observer: any PeerSessionObserver = NoSessionObserver()
    ) -> (PeerSession, Task<SessionReport, Never>) {
        let session = PeerSession(local: local, configuration: configuration, observer: observer)
        let task = Task { await session.run(inbound: wire.inbound, writer: wire.writer, clock: clock) }
        return (session, task)
    }

    func waitForDeadline(_ clock: ManualClock, at offset: Duration) async throws {
        let armed = try await eventually { clock.pendingDeadlines.contains(ManualClock.Instant(offset: offset)) }
        #expect(armed, "no timer armed at \(offset); pending: \(clock.pendingDeadlines)")
    }

    @Test("Handshake, the peer's RequestAddresses answered, release, then the 2 s linger closes the session")
    func linger() async throws {
        let clock = ManualClock()
        let wire = Wire()
        let (session, task) = start(
            PeerSessionStateMachineTests.configuration(rounds: 0), wire: wire, clock: clock)
        wire.handshake()
        wire.peer.yield(.requestAddresses)
        #expect(try await eventually { wire.count(where: Self.isAddresses) == 1 })
        // Exchange over; the session waits for its release, then lingers.
        session.release()
        try await waitForDeadline(clock, at: .seconds(2))
        clock.advance(by: .seconds(2))
        let report = await task.value
        #expect(report.disconnectReason == .lingerElapsed)
        #expect(report.handshakeCompleted)
        #expect(report.sessionDuration == .seconds(2))
        #expect(wire.count(where: Self.isReady) == 1)
    }

    /// A stay-connected session with its handshake completed.
    private func startStaying() async throws -> (ManualClock, Wire, Task<SessionReport, Never>) {
        let clock = ManualClock()
        let wire = Wire()
        let progress = Progress()
        let (_, task) = start(
            PeerSessionStateMachineTests.configuration(.stayConnected, rounds: 0), wire: wire, clock: clock,
            observer: progress)
        wire.handshake()
        #expect(try await eventually { progress.isComplete })
        return (clock, wire, task)
    }

    @Test("Stay: a Ping at 30 s moves the idle deadline to 90 s; the session closes exactly then")
    func idle() async throws {
        let (clock, wire, task) = try await startStaying()
        // The Ready step's 3 s sleep is still pending; its fire makes the session ask for the idle deadline.
        clock.advance(by: .seconds(30))
        wire.peer.yield(.ping(nonce: 7))
        #expect(try await eventually { wire.count(where: { $0 == .pong(nonce: 7) }) == 1 })
        try await waitForDeadline(clock, at: .seconds(60))
        clock.advance(by: .seconds(30))
        try await waitForDeadline(clock, at: .seconds(90))
        clock.advance(by: .seconds(30))
        let report = await task.value
        #expect(report.disconnectReason == .idleTimeout)
        #expect(report.sessionDuration == .seconds(90))
        #expect(report.pingsAnswered == 1)
    }

    @Test("No Version within 5 s: a Reject naming the timeout, then the end")
    func versionTimeout() async throws {
        let clock = ManualClock()
        let wire = Wire()
        let (_, task) = start(PeerSessionStateMachineTests.configuration(), wire: wire, clock: clock)
        try await waitForDeadline(clock, at: .seconds(5))
        clock.advance(by: .seconds(5))
        let report = await task.value
        #expect(report.handshakeOutcome == "timeout_version")
        #expect(wire.count(where: { $0 == .reject(reason: "timeout expired after 5s") }) == 1)
    }

    @Test("Cancelling the session's task is the shutdown input: the report says sensor_shutdown")
    func shutdown() async throws {
        let (clock, _, task) = try await startStaying()
        task.cancel()
        let report = await task.value
        #expect(report.disconnectReason == .shutdown)
        #expect(try await eventually { clock.pendingDeadlines.isEmpty }, "the session's timer outlived it")
    }

    @Test("The polite close: END_STREAM on our side, then the session ends when the peer ends its side")
    func politeClose() async throws {
        let clock = ManualClock()
        let wire = Wire()
        let (session, task) = start(
            PeerSessionStateMachineTests.configuration(
                .closeAfterExchange(addressWait: .seconds(4), linger: .zero), rounds: 0, closeWait: .seconds(2)),
            wire: wire, clock: clock)
        session.release()
        wire.handshake()
        wire.peer.yield(.requestAddresses)
        #expect(try await eventually { wire.finished.load(ordering: .relaxed) })
        wire.peer.finish()
        let report = await task.value
        #expect(report.disconnectReason == .lingerElapsed)
        #expect(report.addressesSent == 1)
    }

    @Test("A peer that never ends its side after our END_STREAM: the close wait ends the session")
    func closeWaitElapses() async throws {
        let clock = ManualClock()
        let wire = Wire()
        let (session, task) = start(
            PeerSessionStateMachineTests.configuration(.stopAtPeerVersion, closeWait: .seconds(2)),
            wire: wire, clock: clock)
        session.release()
        wire.peer.yield(PeerSessionStateMachineTests.peerVersion)
        #expect(try await eventually { wire.finished.load(ordering: .relaxed) })
        try await waitForDeadline(clock, at: .seconds(2))
        clock.advance(by: .seconds(2))
        let report = await task.value
        #expect(report.disconnectReason == .probeComplete)
        #expect(report.peerVersion != nil)
    }
}
