/// Turns a stream of repeated attempts into at most two events per source and interval: the first attempt of a
/// window is reported in full, the rest are counted and reported as one summary when the window ends. A flood
/// from one source therefore costs two rows per interval, not one per connection, and nothing goes uncounted.
///
/// A value type with no I/O and no clock of its own: the driver passes the time in (tests use a manual clock).
/// At most `capacity` sources are tracked; when a new source finds it full, the windows that ended are
/// summarised, and if that frees nothing every open window is summarised early (more summaries, still no loss).
struct RepeatSummarizer<Key: Hashable & Sendable, Instant: InstantProtocol>: Sendable
where Instant.Duration: Sendable {
    /// What the driver does with one attempt.
    enum Decision: Equatable, Sendable {
        /// The first attempt of its window: report it in full.
        case report
        /// Counted in the window's summary.
        case counted
    }

    /// Attempts of one source that were counted, not reported.
    struct Summary: Equatable, Sendable {
        /// The source.
        var key: Key
        /// How many attempts the summary stands for (at least 1).
        var count: Int
        /// The first and the last of them.
        var first: Instant
        var last: Instant
    }

    private struct Window: Sendable {
        var opened: Instant
        var count = 0
        var first: Instant?
        var last: Instant?
    }

    private let interval: Instant.Duration
    private let capacity: Int
    private var windows: [Key: Window] = [:]

    /// Creates a summarizer with windows of `interval` for at most `capacity` sources.
    init(interval: Instant.Duration, capacity: Int) {
        self.interval = interval
        self.capacity = max(1, capacity)
    }

    /// Sources with an open window.
    var trackedSources: Int { windows.count }

    /// Records one attempt of `key` at `now`. `evicted` receives summaries that had to be made early.
    mutating func record(_ key: Key, at now: Instant, evicted: inout [Summary]) -> Decision {
        if var window = windows[key], now < window.opened.advanced(by: interval) {
            window.count += 1
            window.first = window.first ?? now
            window.last = now
            windows[key] = window
            return .counted
        }
        if let ended = windows.removeValue(forKey: key), let summary = Self.summary(key, ended) {
            evicted.append(summary)
        }
        if windows.count >= capacity {
            evicted += expire(at: now)
            if windows.count >= capacity {
                evicted += drain()
            }
        }
        windows[key] = Window(opened: now)
        return .report
    }

    /// Summaries of the windows that ended by `now`; those windows are closed.
    mutating func expire(at now: Instant) -> [Summary] {
        var summaries: [Summary] = []
        for (key, window) in windows where now >= window.opened.advanced(by: interval) {
            windows[key] = nil
            if let summary = Self.summary(key, window) { summaries.append(summary) }
        }
        return summaries
    }

    /// Summaries of every open window (at shutdown); everything is closed.
    mutating func drain() -> [Summary] {
        defer { windows.removeAll() }
        return windows.compactMap { Self.summary($0.key, $0.value) }
    }

    private static func summary(_ key: Key, _ window: Window) -> Summary? {
        guard window.count > 0, let first = window.first, let last = window.last else { return nil }
        return Summary(key: key, count: window.count, first: first, last: last)
    }
}
