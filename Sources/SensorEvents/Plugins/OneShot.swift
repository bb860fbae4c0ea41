import Dispatch
import Synchronization

/// A value set once by a plugin worker thread and awaited by async code, optionally with a timeout (used for the
/// result of `create()` and for "the worker thread has finished").
///
/// Waiting does not depend on task cancellation, so a shutdown that runs in a cancelled task still waits for the
/// sinks to drain; the timeout is driven by Dispatch for the same reason.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [Int: CheckedContinuation<Value?, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    /// Creates an unset one-shot.
    init() {}

    /// Sets the value (only the first call counts) and resumes every waiter.
    func fulfil(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value?, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            waiter.resume(returning: value)
        }
    }

    /// The value if it has been set.
    var value: Value? { state.withLock { $0.value } }

    /// Waits for the value; returns `nil` if `timeout` passes first.
    func wait(timeout: Duration? = nil) async -> Value? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
            let waiter = state.withLock { state -> Int? in
                if state.value != nil { return nil }
                state.nextWaiter += 1
                state.waiters[state.nextWaiter] = continuation
                return state.nextWaiter
            }
            guard let waiter else {
                continuation.resume(returning: value)
                return
            }
            guard let timeout else { return }
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: timeout.nanoseconds))) {
                let expired = self.state.withLock { $0.waiters.removeValue(forKey: waiter) }
                expired?.resume(returning: nil)
            }
        }
    }
}
