import Synchronization

/// Resumes one waiting continuation with the first value delivered; later values (and a value delivered before
/// anyone waits) are kept or dropped accordingly, so racing producers need no coordination.
final class FirstAnswer<Value: Sendable>: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Value, Never>?
        var early: Value?
        var done = false
    }

    private let state = Mutex(State())

    /// Registers the continuation to resume (resumed at once when a value already came).
    func wait(with continuation: CheckedContinuation<Value, Never>) {
        let early = state.withLock { state -> Value? in
            guard let value = state.early else {
                state.waiter = continuation
                return nil
            }
            state.early = nil
            return value
        }
        if let early { continuation.resume(returning: early) }
    }

    /// Delivers `value` if it is the first one.
    func deliver(_ value: Value) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard !state.done else { return nil }
            state.done = true
            guard let waiter = state.waiter else {
                state.early = value
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: value)
    }
}
