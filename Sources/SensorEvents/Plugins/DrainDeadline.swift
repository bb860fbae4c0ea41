import Synchronization

/// When a sink must stop delivering: 0 while the sensor runs, then the monotonic time (nanoseconds) at which
/// shutdown's drain budget ends.
///
/// Shared by the sink's worker thread (which stops retrying then) and its host API, whose `stop_deadline` tells a
/// plugin blocked in `write_batch` (a hanging HTTP request) when to give up. Readable from any thread.
final class DrainDeadline: Sendable {
    private let value = Atomic<UInt64>(0)

    /// A deadline that is not set.
    init() {}

    /// Sets the deadline (monotonic nanoseconds; 0 is taken as 1, "already passed").
    func set(monotonicNanoseconds deadline: UInt64) {
        value.store(max(1, deadline), ordering: .releasing)
    }

    /// Whether the deadline is set and `time` (monotonic nanoseconds) is past it.
    func hasPassed(at time: UInt64) -> Bool {
        let deadline = value.load(ordering: .acquiring)
        return deadline != 0 && time > deadline
    }

    /// The nanoseconds left until the deadline (0 if it has passed), or `nil` while it is not set.
    func remainingNanoseconds(at time: UInt64) -> UInt64? {
        let deadline = value.load(ordering: .acquiring)
        guard deadline != 0 else { return nil }
        return deadline > time ? deadline - time : 0
    }

    /// The deadline as Unix microseconds (the unit of the ABI's deadlines), or 0 while it is not set.
    var unixMicroseconds: Int64 {
        guard let remaining = remainingNanoseconds(at: SinkClock.monotonicNanoseconds()) else { return 0 }
        return SinkClock.unixMicroseconds() + Int64(remaining / 1000)
    }
}
