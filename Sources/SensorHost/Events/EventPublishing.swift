public import SensorEvents

/// Where the host sends events: the sink dispatcher in production, a collector in tests.
public protocol EventPublishing: Sendable {
    /// Hands one event over without blocking (a full queue drops and counts, it never waits).
    func publish(_ event: SensorEvent)
}
