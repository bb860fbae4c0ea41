/// Who runs and who waits among probes, fair across sources: a value type with no I/O (``ProbeLimiter`` keeps the
/// waiting tasks). A probe's source is the source of the peer it dials (an IPv4 address or IPv6 /64): one source
/// runs at most `perSourceRunning` probes and queues at most `perSourceWaiting`, and a freed slot goes to the
/// sources in turn (round robin), so a source that connects a thousand times cannot hold every slot or the queue
/// while honest peers wait. Requests without a source (exempt loopback targets) share only the global bounds.
struct ProbeQueue: Sendable {
    /// What a request gets.
    enum Decision: Equatable, Sendable {
        /// A slot: dial now.
        case run
        /// Queued; ``release(_:)`` will name it.
        case wait
        /// Refused: the queue (or this source's share of it) is full.
        case refuse
    }

    let maxRunning: Int
    let maxWaiting: Int
    let perSourceRunning: Int
    let perSourceWaiting: Int

    private(set) var running = 0
    private(set) var waiting = 0
    private var runningBySource: [SourceKey: Int] = [:]
    private var queues: [SourceKey: [Int]] = [:]
    /// Sources with waiters, in the order they are served.
    private var turns: [SourceKey] = []

    /// A queue with `maxRunning` slots and room for `maxWaiting` waiters; each source gets an eighth of the slots
    /// and a sixteenth of the queue (at least one of each).
    init(maxRunning: Int, maxWaiting: Int) {
        self.maxRunning = maxRunning
        self.maxWaiting = maxWaiting
        perSourceRunning = max(1, maxRunning / 8)
        perSourceWaiting = max(1, maxWaiting / 16)
    }

    /// The key of requests without a source: one turn in the round robin, no share of its own.
    static let exempt = SourceKey.prefix(of: .v4(0, 0, 0, 0))

    /// Request `id` from `source` (``exempt`` for none) asks for a slot.
    mutating func request(_ id: Int, from source: SourceKey) -> Decision {
        if running < maxRunning, mayStart(source) {
            start(source)
            return .run
        }
        guard waiting < maxWaiting, source == Self.exempt || queues[source, default: []].count < perSourceWaiting
        else { return .refuse }
        if queues[source, default: []].isEmpty { turns.append(source) }
        queues[source, default: []].append(id)
        waiting += 1
        return .wait
    }

    /// A probe of `source` finished; returns the waiters that now run (the next sources in turn that may).
    mutating func release(_ source: SourceKey) -> [Int] {
        running -= 1
        let left = runningBySource[source, default: 1] - 1
        runningBySource[source] = left > 0 ? left : nil
        var granted: [Int] = []
        var index = 0
        while running < maxRunning, index < turns.count {
            let next = turns[index]
            guard mayStart(next), var queue = queues[next], !queue.isEmpty
            else {
                index += 1
                continue
            }
            granted.append(queue.removeFirst())
            waiting -= 1
            start(next)
            turns.remove(at: index)
            if queue.isEmpty {
                queues[next] = nil
            } else {
                queues[next] = queue
                turns.append(next)  // its next waiter goes to the back of the line
            }
        }
        return granted
    }

    /// Waiter `id` of `source` gave up (cancelled); false if it was not waiting.
    mutating func cancel(_ id: Int, from source: SourceKey) -> Bool {
        guard var queue = queues[source], let index = queue.firstIndex(of: id) else { return false }
        queue.remove(at: index)
        waiting -= 1
        if queue.isEmpty {
            queues[source] = nil
            turns.removeAll { $0 == source }
        } else {
            queues[source] = queue
        }
        return true
    }

    private func mayStart(_ source: SourceKey) -> Bool {
        source == Self.exempt || runningBySource[source, default: 0] < perSourceRunning
    }

    private mutating func start(_ source: SourceKey) {
        running += 1
        runningBySource[source, default: 0] += 1
    }
}
