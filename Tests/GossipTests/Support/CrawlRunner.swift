import AddressBook
import Foundation
import KaspaP2P
import Logging
import NetworkCrawler

/// Runs crawls of the simulated network into temporary databases, and reads the results back.
struct CrawlRunner {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "kaspa-crawl-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    static func configuration() -> CrawlConfiguration {
        var configuration = CrawlConfiguration(network: .mainnet, userAgent: "/kaspa-sensor:0.1.0(test-crawler)/")
        configuration.maxConcurrent = 48
        configuration.connectTimeout = .seconds(2)
        configuration.nodeTimeout = .seconds(3)
        configuration.roundSpacing = .milliseconds(20)
        configuration.allowPrivateTargets = true
        return configuration
    }

    /// A job seeded with node 0.
    func job(_ name: String, resume: Bool = false) -> CrawlJob {
        var job = CrawlJob(output: path(name), configuration: Self.configuration())
        job.seeds = [StudyNetwork.address(0).description]
        job.resume = resume
        return job
    }

    func run(_ job: CrawlJob) async throws -> CrawlJob.Summary {
        var logger = Logger(label: "test-crawler")
        logger.logLevel = .warning
        return try await job.run(
            progress: CrawlProgress(mode: .quiet), logger: logger, dialer: KaspaDialer(maxMessageBytes: 1 << 24))
    }

    /// `address -> (reachable, failure, peer id)` of every visited node.
    static func nodes(_ path: String) throws -> [String: (reachable: Bool, failure: String?, peerID: String?)] {
        let rows = try SQLiteDatabase(path: path, readOnly: true).query(
            "SELECT address, reachable, failure, peer_id FROM nodes WHERE state = 'done'")
        return Dictionary(
            uniqueKeysWithValues: rows.map { ($0.text(0)!, ($0.integer(1) == 1, $0.text(2), $0.text(3))) })
    }

    /// Every edge as `advertiser -> advertised`.
    static func edges(_ path: String) throws -> Set<String> {
        Set(
            try SQLiteDatabase(path: path, readOnly: true).query("SELECT advertiser, advertised FROM edges").map {
                "\($0.text(0)!) -> \($0.text(1)!)"
            })
    }
}
