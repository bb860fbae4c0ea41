import Synchronization

/// Bounds probes as ``ProbeQueue`` decides (slots and queue shared fairly across sources); a request the queue
/// refuses gets "queue full" at once instead of delaying anything.
final class ProbeLimiter: Sendable {
    private struct State {
        var queue: ProbeQueue
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        /// Queued requests that were granted, or cancelled, before their task parked.
        var grantedEarly: Set<Int> = []
        var cancelledEarly: Set<Int> = []
        var nextID = 0
    }

    private let state: Mutex<State>
    private let onChange: @Sendable (_ running: Int, _ waiting: Int) -> Void

    init(maxRunning: Int, maxWaiting: Int, onChange: @escaping @Sendable (Int, Int) -> Void) {
        self.state = Mutex(State(queue: ProbeQueue(maxRunning: maxRunning, maxWaiting: maxWaiting)))
        self.onChange = onChange
    }

    /// Waits for a slot for a probe of `source`. Returns false when the queue (or the source's share of it) is
    /// full or the task was cancelled while waiting; after true, call ``release(_:)``.
    func acquire(for source: SourceKey) async -> Bool {
        let (id, decision) = state.withLock { state in
            state.nextID += 1
            return (state.nextID, state.queue.request(state.nextID, from: source))
        }
        switch decision {
        case .run:
            report()
            return true
        case .refuse:
            return false
        case .wait:
            report()
            let granted = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    // nil: park until release or cancellation; a value: what already happened.
                    let settled = state.withLock { state -> Bool? in
                        if state.grantedEarly.remove(id) != nil { return true }
                        if state.cancelledEarly.remove(id) != nil { return false }
                        if Task.isCancelled, state.queue.cancel(id, from: source) { return false }
                        state.waiters[id] = continuation
                        return nil
                    }
                    if let settled { continuation.resume(returning: settled) }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                    guard state.queue.cancel(id, from: source) else { return nil }  // already granted
                    guard let waiter = state.waiters.removeValue(forKey: id) else {
                        state.cancelledEarly.insert(id)
                        return nil
                    }
                    return waiter
                }
                waiter?.resume(returning: false)
            }
            report()
            return granted
        }
    }

    /// Frees the slot of a probe of `source`, handing it to the next source in turn.
    func release(_ source: SourceKey) {
        let granted = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.queue.release(source).compactMap { id in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    state.grantedEarly.insert(id)  // it parks in a moment and finds its slot
                    return nil
                }
                return waiter
            }
        }
        for continuation in granted {
            continuation.resume(returning: true)
        }
        report()
    }

    private func report() {
        let (running, waiting) = state.withLock { ($0.queue.running, $0.queue.waiting) }
        onChange(running, waiting)
    }
}
