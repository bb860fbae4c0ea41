import Synchronization

/// Bounds probes: at most `maxRunning` at once and at most `maxWaiting` queued; beyond that a request is refused
/// at once (the probe says "queue full") instead of delaying anything.
final class ProbeLimiter: Sendable {
    private struct State {
        var running = 0
        var waiting: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextID = 0
    }

    private let maxRunning: Int
    private let maxWaiting: Int
    private let state = Mutex(State())
    private let onChange: @Sendable (_ running: Int, _ waiting: Int) -> Void

    init(maxRunning: Int, maxWaiting: Int, onChange: @escaping @Sendable (Int, Int) -> Void) {
        self.maxRunning = maxRunning
        self.maxWaiting = maxWaiting
        self.onChange = onChange
    }

    /// Waits for a slot. Returns false when the queue is full or the task was cancelled while waiting.
    func acquire() async -> Bool {
        enum Decision { case run, refuse, wait(Int) }
        let decision: Decision = state.withLock { state in
            if state.running < maxRunning {
                state.running += 1
                return .run
            }
            if state.waiting.count >= maxWaiting { return .refuse }
            state.nextID += 1
            return .wait(state.nextID)
        }
        switch decision {
        case .run:
            report()
            return true
        case .refuse:
            return false
        case .wait(let id):
            let granted = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let cancelled = state.withLock { state -> Bool in
                        if Task.isCancelled { return true }
                        state.waiting.append((id, continuation))
                        return false
                    }
                    if cancelled { continuation.resume(returning: false) }
                    report()
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                    guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiting.remove(at: index).continuation
                }
                waiter?.resume(returning: false)
            }
            report()
            return granted
        }
    }

    /// Frees a slot, handing it straight to the oldest waiter.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst().continuation
        }
        next?.resume(returning: true)
        report()
    }

    private func report() {
        let (running, waiting) = state.withLock { ($0.running, $0.waiting.count) }
        onChange(running, waiting)
    }
}
