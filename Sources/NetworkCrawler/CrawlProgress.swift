import Foundation
public import Logging
import Synchronization

/// Shows a crawl's progress: a bar with counts and an ETA redrawn on standard error when it is a terminal, plain
/// log lines at most every few seconds otherwise, nothing when quiet.
public final class CrawlProgress: Sendable {
    /// Where progress goes.
    public enum Mode: Sendable {
        /// A redrawn bar on standard error.
        case terminal
        /// Log lines every `interval`.
        case log(Logger, interval: Duration)
        /// Nothing.
        case quiet
    }

    private struct State {
        var startedAt = ContinuousClock.now
        var visitedAtStart = 0
        var lastLine: ContinuousClock.Instant?
    }

    private let mode: Mode
    private let state = Mutex(State())

    /// Creates a reporter.
    public init(mode: Mode) {
        self.mode = mode
    }

    /// A bar when standard error is a terminal, log lines otherwise.
    public static func automatic(logger: Logger) -> CrawlProgress {
        CrawlProgress(mode: isatty(STDERR_FILENO) == 1 ? .terminal : .log(logger, interval: .seconds(5)))
    }

    func start(visited: Int, pending: Int) {
        state.withLock {
            $0.startedAt = .now
            $0.visitedAtStart = visited
        }
    }

    func update(visited: Int, pending: Int, reachable: Int) {
        let (elapsed, fresh, due) = state.withLock { state -> (Duration, Int, Bool) in
            let now = ContinuousClock.now
            var due = true
            if case .log(_, let interval) = mode, let last = state.lastLine, now - last < interval { due = false }
            if due { state.lastLine = now }
            return (now - state.startedAt, visited - state.visitedAtStart, due)
        }
        guard due else { return }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let eta = fresh > 0 ? Self.format(seconds / Double(fresh) * Double(pending)) : "?"
        let counts = "\(visited) visited, \(reachable) reachable this run, \(pending) to go, ETA \(eta)"
        switch mode {
        case .terminal:
            let total = max(visited + pending, 1)
            let filled = visited * 30 / total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(counts)\u{1B}[K".utf8))
        case .log(let logger, _):
            logger.info("crawl progress: \(counts)")
        case .quiet:
            break
        }
    }

    func finish(status: String) {
        if case .terminal = mode {
            FileHandle.standardError.write(Data("\n".utf8))
        }
    }

    static func format(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600
            ? "\(total / 3600)h\(total % 3600 / 60)m" : total >= 60 ? "\(total / 60)m\(total % 60)s" : "\(total)s"
    }
}
