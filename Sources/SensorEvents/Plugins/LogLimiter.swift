/// Decides which of a stream of similar log lines to write: the first `unlimited` in a row, then at most one per
/// `interval`, counting the ones left out (they are named in the next line written).
struct LogLimiter {
    /// The least nanoseconds between two lines once past the first few.
    let interval: UInt64
    /// Lines in a row always written.
    let unlimited: Int
    private var inARow = 0
    private var lastWritten: UInt64?
    private var suppressed = 0

    /// A limiter writing `unlimited` lines in a row, then one per `interval` nanoseconds.
    init(interval: UInt64, unlimited: Int) {
        self.interval = interval
        self.unlimited = unlimited
    }

    /// Whether to write the line due at `now` (monotonic nanoseconds); if so, how many were left out before it.
    mutating func admit(at now: UInt64) -> Int? {
        inARow += 1
        if inARow > unlimited, let last = lastWritten, now - last < interval {
            suppressed += 1
            return nil
        }
        lastWritten = now
        defer { suppressed = 0 }
        return suppressed
    }

    /// The run of similar lines has ended (the sink is healthy again).
    mutating func reset() {
        inARow = 0
    }
}
