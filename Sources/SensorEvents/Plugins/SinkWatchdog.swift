/// Looks at every sink's ``WriteDeadlineWatch`` periodically, so that a `write_batch` that hangs is reported
/// (metric and log) while it is still hanging, not only once it returns. One task per dispatcher; it only reads
/// atomics and records gauges, and stops with the dispatcher.
enum SinkWatchdog {
    /// How often the watches are checked for `deadlines`: a quarter of the shortest, between 10 ms and 1 s.
    static func interval(for deadlines: [Duration]) -> Duration {
        let shortest = deadlines.min() ?? .seconds(1)
        return min(.seconds(1), max(.milliseconds(10), shortest / 4))
    }

    /// Starts checking `watches`; `nil` when there are none. Cancel the task to stop it.
    static func start(watching watches: [WriteDeadlineWatch]) -> Task<Void, Never>? {
        guard !watches.isEmpty else { return nil }
        let interval = interval(for: watches.map(\.deadline))
        return Task.detached {
            while true {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                let now = SinkClock.monotonicNanoseconds()
                for watch in watches {
                    watch.check(at: now)
                }
            }
        }
    }
}
