/// The bounded queue between publishers and one sink's worker thread.
///
/// Capacity counts events accepted but not yet finished by the worker (waiting plus being written), so a sink
/// that blocks in `write_batch` holds at most `capacity` events. Publishers never wait: a full queue drops.
/// The worker takes everything waiting at once (swapping arrays, so both sides reuse their storage) when a full
/// batch is waiting, when the oldest waiting event is `flushInterval` old, or when the queue is closing.
final class SinkQueue: @unchecked Sendable {
    /// What happened to an offered event.
    enum OfferResult {
        /// Queued.
        case accepted
        /// Dropped because the queue is full; `report` is the number of drops to log now (rate limited), if any.
        case full(report: Int?)
        /// Dropped because the sink is disabled or shutting down.
        case closed
    }

    private enum Mode {
        case running
        case draining
        case disabled
    }

    /// The most events accepted and not yet finished.
    let capacity: Int
    private let batchMax: Int
    private let flushIntervalNanoseconds: UInt64
    private let lock = ConditionLock()
    // Everything below is guarded by `lock`.
    private var pending: [QueuedEvent] = []
    private var inFlight = 0
    private var oldestPendingNanoseconds: UInt64 = 0
    private var workerWaiting = false
    private var mode = Mode.running
    private var modeChanges = 0
    private var unreportedDrops = 0
    private var spilledThrough: UInt64 = 0
    private var spillSeen: UInt64 = 0
    private var lastDropReportNanoseconds: UInt64?

    /// The least time between two "queue full" warnings of one sink.
    static let dropReportInterval: UInt64 = 1_000_000_000

    /// Creates an empty, running queue.
    init(capacity: Int, batchMax: Int, flushInterval: Duration) {
        self.capacity = capacity
        self.batchMax = batchMax
        self.flushIntervalNanoseconds = max(1, flushInterval.nanoseconds)
    }

    /// Offers an event (publisher side; never blocks beyond the short critical section).
    func offer(_ event: QueuedEvent) -> OfferResult {
        lock.withLock {
            guard case .running = mode else { return .closed }
            guard pending.count + inFlight < capacity else {
                unreportedDrops += 1
                // With a journal the worker reads this event back from it; wake it if it is idle.
                spilledThrough = event.sequence
                if workerWaiting {
                    workerWaiting = false
                    lock.signal()
                }
                let now = SinkClock.monotonicNanoseconds()
                if let last = lastDropReportNanoseconds, now - last < Self.dropReportInterval {
                    return .full(report: nil)
                }
                lastDropReportNanoseconds = now
                defer { unreportedDrops = 0 }
                return .full(report: unreportedDrops)
            }
            if pending.isEmpty {
                oldestPendingNanoseconds = SinkClock.monotonicNanoseconds()
            }
            pending.append(event)
            if workerWaiting && (pending.count == 1 || pending.count >= batchMax) {
                workerWaiting = false
                lock.signal()
            }
            return .accepted
        }
    }

    /// Waits until a batch is due, or an event was refused because the queue was full, and moves every waiting
    /// event into `batch` (worker side; `batch` may come back empty after a refusal). `batch` must be empty; its
    /// storage is reused. Returns `false` when the queue is closed and nothing is left.
    func take(into batch: inout [QueuedEvent]) -> Bool {
        lock.withLock {
            while true {
                if spilledThrough != spillSeen {
                    spillSeen = spilledThrough
                    swap(&pending, &batch)
                    inFlight += batch.count
                    return true
                }
                if !pending.isEmpty {
                    let due = oldestPendingNanoseconds &+ flushIntervalNanoseconds
                    if mode != .running || pending.count >= batchMax || SinkClock.monotonicNanoseconds() >= due {
                        swap(&pending, &batch)
                        inFlight += batch.count
                        return true
                    }
                    workerWaiting = true
                    lock.wait(untilMonotonicNanoseconds: due)
                } else {
                    if mode != .running { return false }
                    workerWaiting = true
                    lock.wait(untilMonotonicNanoseconds: nil)
                }
                workerWaiting = false
            }
        }
    }

    /// Marks `count` taken events as finished (delivered or dropped) and returns the new depth (worker side).
    func finish(_ count: Int) -> Int {
        lock.withLock {
            inFlight -= count
            return pending.count + inFlight
        }
    }

    /// Events accepted and not yet finished.
    var depth: Int { lock.withLock { pending.count + inFlight } }

    /// Stops accepting events; the worker delivers what is queued, then sees the end of the queue.
    func close() {
        lock.withLock {
            guard case .running = mode else { return }
            mode = .draining
            modeChanges += 1
            lock.signal()
        }
    }

    /// Stops accepting events for good and discards what is waiting; returns how many were discarded.
    func disable() -> Int {
        lock.withLock {
            mode = .disabled
            modeChanges += 1
            let discarded = pending.count
            pending.removeAll()
            return discarded
        }
    }

    /// The sequence of the last event refused because the queue was full (0 if none was).
    var lastRefusedSequence: UInt64 { lock.withLock { spilledThrough } }

    /// Drops counted since the last "queue full" warning; resets the count.
    func takeUnreportedDrops() -> Int {
        lock.withLock {
            defer { unreportedDrops = 0 }
            return unreportedDrops
        }
    }

    /// Waits until the monotonic time `deadline` (a retry backoff), returning early if the queue starts closing
    /// meanwhile so the worker can re-check its drain deadline (worker side).
    func pause(untilMonotonicNanoseconds deadline: UInt64) {
        lock.withLock {
            let changes = modeChanges
            while SinkClock.monotonicNanoseconds() < deadline && changes == modeChanges {
                lock.wait(untilMonotonicNanoseconds: deadline)
            }
        }
    }
}
