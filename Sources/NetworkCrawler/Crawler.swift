public import AddressBook
import Foundation
public import KaspaP2P
public import Logging

/// Crawls the reachable network: visits every address of the frontier (at most `maxConcurrent` at once), stores
/// each visit and follows the dialable addresses it learnt, until the frontier is empty, the budget ends or the
/// task is cancelled. Everything is in the ``CrawlStore`` as it happens, so a stopped crawl resumes.
public struct Crawler {
    /// How the crawl ends.
    public enum Status: String, Sendable {
        /// The frontier is empty: every reachable address was visited.
        case complete
        /// The time budget ended; resume to continue.
        case budgetExhausted = "budget_exhausted"
        /// Cancelled (e.g. SIGINT); resume to continue.
        case interrupted
    }

    /// The configuration.
    public let configuration: CrawlConfiguration
    private let store: CrawlStore
    private let visitor: NodeVisitor
    private let progress: CrawlProgress
    private let logger: Logger

    /// Creates a crawler writing to `store`.
    public init(
        configuration: CrawlConfiguration, store: CrawlStore, dialer: KaspaDialer, progress: CrawlProgress,
        logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.visitor = NodeVisitor(dialer: dialer, configuration: configuration)
        self.progress = progress
        self.logger = logger
    }

    /// Adds seeds to the frontier (known ones are ignored).
    public func addSeeds(_ seeds: [PeerAddress]) throws(SQLiteError) {
        try store.addPending(seeds, source: "seed", atMicros: Self.nowMicros(), limit: configuration.maxNodes)
    }

    /// Runs until the frontier is exhausted, the budget ends or the task is cancelled. Throws ``SQLiteError``.
    public func run() async throws -> Status {
        if try store.info("started_at_us") == nil {
            try store.setInfo("started_at_us", String(Self.nowMicros()))
        }
        try store.setInfo("network", configuration.network.wireName)
        try store.setInfo("user_agent", configuration.userAgent)
        try store.setInfo("status", "running")
        var frontier = try store.pending()
        var visited = try store.visitedCount()
        var reachable = 0
        let deadline = configuration.budget.map { ContinuousClock.now + $0 }
        progress.start(visited: visited, pending: frontier.count)
        let visitor = self.visitor
        let status = try await withThrowingTaskGroup(of: NodeVisit?.self) { group -> Status in
            var running = 0
            while true {
                while running < configuration.maxConcurrent, !frontier.isEmpty, !Task.isCancelled {
                    let target = frontier.removeFirst()
                    running += 1
                    group.addTask {
                        let visit =
                            if let deadline { try await visitor.visitBefore(deadline, target) } else {
                                await visitor.visit(target)
                            }
                        // A visit cut short by cancellation says nothing about the node: it stays pending.
                        return Task.isCancelled ? nil : visit
                    }
                }
                if running == 0 {
                    return Task.isCancelled ? .interrupted : .complete
                }
                let next: NodeVisit??
                do {
                    next = try await group.next()
                } catch {
                    // visitBefore throws at the deadline, and also when cancelled while waiting for it.
                    group.cancelAll()
                    return Task.isCancelled ? .interrupted : .budgetExhausted
                }
                running -= 1
                guard let visit = next ?? nil else {
                    group.cancelAll()
                    return .interrupted
                }
                let allowPrivate = configuration.allowPrivateTargets
                let added = try store.save(
                    visit, follow: { AddressCheck.dialRefusal($0, allowPrivate: allowPrivate) == nil },
                    limit: configuration.maxNodes)
                frontier.append(contentsOf: added)
                visited += 1
                if visit.reachable { reachable += 1 }
                progress.update(visited: visited, pending: frontier.count + running, reachable: reachable)
            }
        }
        try store.setInfo("status", status.rawValue)
        if status == .complete {
            try store.setInfo("finished_at_us", String(Self.nowMicros()))
        }
        progress.finish(status: status.rawValue)
        logger.info("crawl ended", metadata: ["status": "\(status.rawValue)", "visited": "\(visited)"])
        return status
    }

    static func nowMicros() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }
}

/// The budget ended before a visit finished.
struct BudgetExhausted: Error {}

extension NodeVisitor {
    /// Visits `target`, or throws ``BudgetExhausted`` (cancelling the visit) when `deadline` comes first.
    func visitBefore(_ deadline: ContinuousClock.Instant, _ target: PeerAddress) async throws -> NodeVisit? {
        try await withThrowingTaskGroup(of: NodeVisit?.self) { group in
            group.addTask { await visit(target) }
            group.addTask {
                try await Task.sleep(until: deadline)
                throw BudgetExhausted()
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
