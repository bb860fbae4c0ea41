import GRPCCore
import NIOPosix
import TestSupport
import Testing

@testable import KaspaP2P

/// The production wake-up of a session: one callback in an event loop's timer heap instead of a sleeping task.
/// Real time on a real event loop, short deadlines, and polling: what the manual-clock driver tests cannot show.
@Suite("Session alarm (event loop timers)")
struct SessionAlarmTests {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    @Test("A wake-up set on the event loop reaches the inbox; an earlier one supersedes a later one")
    func wakeUpReachesInbox() async throws {
        let inbox = SessionInbox()
        let clock = ContinuousClock()
        var alarm = SessionAlarm(clock: clock, mechanism: .eventLoop(group.next()), inbox: inbox)
        alarm.set(clock.now.advanced(by: .seconds(3600)))
        alarm.set(clock.now.advanced(by: .milliseconds(20)))
        let fired = await inbox.next()
        guard case .timerFired = fired else {
            Issue.record("expected a timer fire, got \(fired)")
            return
        }
        alarm.fired()
        try await group.shutdownGracefully()
    }

    @Test("A session that is gone is not kept alive by its pending wake-up, and the wake-up does nothing")
    func finishedSessionReleased() async throws {
        let clock = ContinuousClock()
        let loop = group.next()
        weak var released: SessionInbox?
        do {
            let inbox = SessionInbox()
            released = inbox
            var alarm = SessionAlarm(clock: clock, mechanism: .eventLoop(loop), inbox: inbox)
            alarm.set(clock.now.advanced(by: .milliseconds(50)))
        }
        #expect(released == nil, "the event loop's wake-up holds the inbox")
        // A task due after the wake-up runs after it: the wake-up came, found nothing, and the loop carries on.
        try await loop.scheduleTask(in: .milliseconds(100)) {}.futureResult.get()
        try await group.shutdownGracefully()
    }

    @Test("The production session times its handshake with the event loop: no Version, a Reject, then the end")
    func productionVersionTimeout() async throws {
        let wire = PeerSessionDriverTests.Wire()
        let configuration = PeerSessionConfiguration(
            versionTimeout: .milliseconds(150), verackTimeout: .milliseconds(150), readyTimeout: .milliseconds(150),
            afterHandshake: .stayConnected, addressRequestRounds: 0, addressRequestSpacing: .zero,
            idleTimeout: .seconds(60))
        let session = PeerSession(
            local: LocalVersion(network: .mainnet, userAgent: "/test:1/"), configuration: configuration,
            observer: NoSessionObserver())
        let report = await session.run(
            inbound: RPCAsyncSequence(wrapping: wire.inbound), writer: wire.writer, timerLoop: group.next())
        wire.peer.finish()
        #expect(report.handshakeOutcome == "timeout_version")
        #expect(wire.count { $0 == .reject(reason: "timeout expired after 0.15s") } == 1)
        try await group.shutdownGracefully()
    }
}
