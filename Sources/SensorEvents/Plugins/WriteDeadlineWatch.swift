import Logging
import Metrics
import Synchronization

/// Whether a sink's `write_batch` runs past its `write_deadline_ms`. The call is a C call and cannot be
/// interrupted, so the host only says so: the sink is unhealthy (`sensor_sink_write_overdue` 1, named on
/// `/health`) while a call has run past the deadline and after a call returned late, and healthy again as soon as
/// a call returns in time. Each late call is counted once in `sensor_sink_write_overdue_total` and logged once.
///
/// The worker thread brackets each call with ``begin(at:)`` and ``end(at:)``; a hung call is noticed by the
/// dispatcher's watchdog through ``check(at:)``. Atomics only, so both sides and health reports can read it.
final class WriteDeadlineWatch: Sendable {
    /// The deadline of one call.
    let deadline: Duration
    private let deadlineNanoseconds: UInt64
    /// When the call in progress started (monotonic nanoseconds), 0 between calls. Unique per call, so it also
    /// names the call.
    private let startedAt = Atomic<UInt64>(0)
    /// The start of the last call that was counted and logged as late (so each is counted once).
    private let countedCall = Atomic<UInt64>(0)
    /// Whether the last call that returned was late.
    private let lastReturnedLate = Atomic<Bool>(false)
    private let overdue: Gauge
    private let overdueCalls: Counter
    private let logger: Logger

    /// A watch of calls that may each take `deadline`, reporting through `factory` with the sink's dimension.
    init(deadline: Duration, sinkName: String, factory: any MetricsFactory, logger: Logger) {
        self.deadline = deadline
        self.deadlineNanoseconds = max(1, deadline.nanoseconds)
        let dimensions = [("sink", sinkName)]
        self.overdue = Gauge(label: SinkMetricNames.writeOverdue, dimensions: dimensions, factory: factory)
        self.overdueCalls = Counter(label: SinkMetricNames.writeOverdueCalls, dimensions: dimensions, factory: factory)
        self.logger = logger
        overdue.record(0)
    }

    /// A `write_batch` call starts (the worker thread).
    func begin(at now: UInt64) {
        startedAt.store(max(1, now), ordering: .releasing)
    }

    /// The call started by ``begin(at:)`` returned (the worker thread).
    func end(at now: UInt64) {
        let started = startedAt.exchange(0, ordering: .acquiringAndReleasing)
        let late = now &- started > deadlineNanoseconds
        let wasLate = lastReturnedLate.exchange(late, ordering: .acquiringAndReleasing)
        if late {
            countOnce(call: started, runningFor: now &- started, stillRunning: false)
        } else if wasLate {
            logger.info("write_batch returned within write_deadline_ms again; the sink is healthy")
        }
        overdue.record(late ? 1 : 0)
    }

    /// Whether the sink is unhealthy at `now`: a call has run past the deadline, or the last one returned late.
    func isOverdue(at now: UInt64) -> Bool {
        let started = startedAt.load(ordering: .acquiring)
        if started != 0 && now &- started > deadlineNanoseconds { return true }
        return lastReturnedLate.load(ordering: .acquiring)
    }

    /// The watchdog's periodic look: counts and logs a call in progress once it passes the deadline, and records
    /// the gauge from the current state (which also corrects a value a racing ``end(at:)`` left behind).
    func check(at now: UInt64) {
        let started = startedAt.load(ordering: .acquiring)
        if started != 0 && now &- started > deadlineNanoseconds {
            countOnce(call: started, runningFor: now &- started, stillRunning: true)
        }
        overdue.record(isOverdue(at: now) ? 1 : 0)
    }

    private func countOnce(call started: UInt64, runningFor elapsed: UInt64, stillRunning: Bool) {
        guard countedCall.exchange(started, ordering: .acquiringAndReleasing) != started else { return }
        overdueCalls.increment()
        logger.warning(
            """
            write_batch \(stillRunning ? "has been running for" : "returned after") \(elapsed / 1_000_000) ms, past \
            write_deadline_ms (\(deadlineNanoseconds / 1_000_000) ms): the sink is reported unhealthy until a call \
            returns in time
            """)
    }
}
