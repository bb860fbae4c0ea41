import Synchronization

/// A single resettable deadline that a session's watchdog task waits on.
///
/// Moving the deadline later is a cheap store (the waiter re-checks when it wakes); moving it earlier wakes the
/// waiter at once. One waiter at a time.
final class DeadlineTimer<Reason: Sendable>: Sendable {
    private struct State {
        var deadline: ContinuousClock.Instant
        var reason: Reason
        var wake: CheckedContinuation<Void, Never>?
        var wakeRequested = false
    }

    private let state: Mutex<State>

    init(deadline: ContinuousClock.Instant, reason: Reason) {
        state = Mutex(State(deadline: deadline, reason: reason))
    }

    /// Sets the deadline and the reason reported when it passes.
    func set(_ deadline: ContinuousClock.Instant, reason: Reason) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            let earlier = deadline < state.deadline
            state.deadline = deadline
            state.reason = reason
            guard earlier else { return nil }
            if let wake = state.wake {
                state.wake = nil
                return wake
            }
            state.wakeRequested = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns the reason once the current deadline has passed. Throws `CancellationError` when cancelled.
    func waitForExpiry() async throws -> Reason {
        while true {
            try Task.checkCancellation()
            let (deadline, reason) = state.withLock { ($0.deadline, $0.reason) }
            if ContinuousClock.now >= deadline {
                return reason
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
                group.addTask { await self.waitForWake() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func waitForWake() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.wakeRequested || Task.isCancelled {
                        state.wakeRequested = false
                        return true
                    }
                    state.wake = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                let wake = state.wake
                state.wake = nil
                if wake == nil { state.wakeRequested = true }
                return wake
            }
            waiter?.resume()
        }
    }
}
