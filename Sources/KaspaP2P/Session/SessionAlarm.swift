import NIOCore

/// Wakes one ``PeerSession`` at its next deadline by posting a timer fire into its ``SessionInbox``.
///
/// In production the wake-up is one entry in an event loop's timer heap (`scheduleCallback`): no task and no
/// sleep per session. An idle peer always holds a deadline (its idle timeout), so a sleeping task per session was
/// a task's memory per peer for as long as the peer stays (benchmark figure 2b), and a task created and cancelled
/// at every handshake step was CPU per handshake (figure 1b). With a clock of the caller's own (the manual clock of
/// the tests), a detached task sleeps on that clock instead.
///
/// An event-loop wake-up is never cancelled: cancelling scans the loop's whole timer heap under its lock, and a
/// wake-up that comes when nothing is due is an input the machine ignores. It holds the inbox weakly, so a
/// finished session leaves nothing behind but the heap entry until its instant.
struct SessionAlarm<C: Clock<Duration>> {
    /// How the wake-up is delivered.
    enum Mechanism {
        /// One callback in this event loop's timer heap, timed by the loop's monotonic clock.
        case eventLoop(any EventLoop)
        /// A detached task sleeping on the session's clock.
        case sleepingTask
    }

    private let clock: C
    private let mechanism: Mechanism
    private let inbox: SessionInbox
    /// The earliest wake-up still to come, as far as the session knows.
    private var wakeAt: C.Instant?
    private var sleeper: Task<Void, Never>?

    init(clock: C, mechanism: Mechanism, inbox: SessionInbox) {
        self.clock = clock
        self.mechanism = mechanism
        self.inbox = inbox
    }

    /// Makes sure a timer fire comes at `instant`: a pending wake-up that comes earlier is kept (the machine asks
    /// again when it fires), a later one is superseded.
    mutating func set(_ instant: C.Instant) {
        if let wakeAt, wakeAt <= instant { return }
        wakeAt = instant
        sleeper?.cancel()
        sleeper = nil
        if case .eventLoop(let loop) = mechanism {
            let delay = TimeAmount(clock.now.duration(to: instant))
            if (try? loop.scheduleCallback(in: delay, handler: TimerFire(inbox: inbox))) != nil { return }
            // The loop is shutting down: the session's own sleep still ends the session on time.
        }
        let clock = self.clock
        let inbox = self.inbox
        // Detached: the sleep needs none of the session task's task-locals, and copying them costs an allocation.
        sleeper = Task.detached {
            do {
                try await clock.sleep(until: instant, tolerance: nil)
            } catch {
                return
            }
            inbox.post(.timerFired)
        }
    }

    /// A timer fire was taken from the inbox: no wake-up is known to be pending any more.
    mutating func fired() {
        wakeAt = nil
        sleeper = nil
    }

    /// No deadline is pending: a sleeping task ends now; an event-loop wake-up, if it comes, is ignored.
    mutating func cancel() {
        wakeAt = nil
        sleeper?.cancel()
        sleeper = nil
    }
}

/// The event loop's callback: one timer fire for the session, if the session still exists.
private struct TimerFire: NIOScheduledCallbackHandler, Sendable {
    weak var inbox: SessionInbox?

    func handleScheduledCallback(eventLoop: some EventLoop) {
        inbox?.post(.timerFired)
    }
}
