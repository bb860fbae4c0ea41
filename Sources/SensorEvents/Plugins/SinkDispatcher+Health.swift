import Synchronization

/// What health reports (`/health`) ask of the sinks: which are disabled and which are stuck in a slow call.
extension SinkDispatcher {
    /// The sinks whose circuit breaker has opened (FATAL, or too many errors in a row).
    public var disabledSinkNames: [String] {
        workers.filter { $0.isDisabledForReports.load(ordering: .relaxed) }.map(\.configuration.name)
    }

    /// The sinks whose `write_batch` has run past its `write_deadline_ms` (still running, or the last call
    /// returned late); each is healthy again once a call returns in time.
    public var overdueSinkNames: [String] {
        let now = SinkClock.monotonicNanoseconds()
        return workers.filter { $0.writeWatch.isOverdue(at: now) }.map(\.configuration.name)
    }
}
