import AddressBook
import Foundation
public import KaspaP2P
public import Logging

/// One `kaspa-sensor crawl`: opens (or resumes) the crawl database, seeds the frontier from addresses, DNS
/// seeders or an address database, crawls, and exports. The command only parses arguments into this.
public struct CrawlJob: Sendable {
    /// The crawl database.
    public var output: String
    /// Continue the crawl in `output` instead of starting a new one.
    public var resume = false
    /// `host[:port]` seeds (IP literals or names); empty with no `fromDatabase` means the network's DNS seeders.
    public var seeds: [String] = []
    /// An address database (`[database] addressdb_path`) whose most recent addresses seed the crawl.
    public var fromDatabase: String?
    /// Where to write `nodes.csv` and `edges.csv` afterwards.
    public var csvDirectory: String?
    /// Where to write the JSON export afterwards.
    public var jsonPath: String?
    /// The crawl's settings.
    public var configuration: CrawlConfiguration
    /// How long one DNS lookup may take.
    public var resolveTimeout: Duration = .seconds(10)

    /// Creates a job.
    public init(output: String, configuration: CrawlConfiguration) {
        self.output = output
        self.configuration = configuration
    }

    /// What a crawl found.
    public struct Summary: Sendable, Hashable, CustomStringConvertible {
        /// How the crawl ended.
        public var status: String
        /// Addresses visited (over every run of this crawl).
        public var visited: Int
        /// Visited addresses where a Kaspa node answered.
        public var reachableAddresses: Int
        /// Distinct peer ids among them (one node may answer under several addresses).
        public var reachablePeers: Int
        /// Addresses known but not visited yet.
        public var pending: Int
        /// Distinct edges "A advertised B".
        public var edges: Int

        /// One line.
        public var description: String {
            "crawl \(status): \(visited) addresses visited, \(reachableAddresses) reachable (\(reachablePeers) "
                + "unique peer ids), \(pending) pending, \(edges) edges"
        }
    }

    /// Runs the job; `progress` shows how it goes. Throws ``CrawlError``.
    public func run(progress: CrawlProgress, logger: Logger, dialer: KaspaDialer) async throws -> Summary {
        let exists = FileManager.default.fileExists(atPath: output)
        if exists && !resume {
            throw CrawlError("\(output) exists; pass --resume to continue that crawl or choose another --output")
        }
        if resume && !exists {
            throw CrawlError("--resume: \(output) does not exist")
        }
        let store: CrawlStore
        do {
            store = try CrawlStore(path: output)
        } catch {
            throw CrawlError("cannot open the crawl database: \(error)")
        }
        let crawler = Crawler(
            configuration: configuration, store: store, dialer: dialer, progress: progress, logger: logger)
        if !resume {
            let initial = try await seedAddresses(logger: logger)
            guard !initial.isEmpty else { throw CrawlError("no seed address to start from") }
            try crawler.addSeeds(initial)
        }
        let status = try await crawler.run()
        if let csvDirectory { try CrawlExporter(store: store).writeCSV(into: csvDirectory) }
        if let jsonPath { try CrawlExporter(store: store).writeJSON(to: jsonPath) }
        return try Self.summary(store, status: status.rawValue)
    }

    private func seedAddresses(logger: Logger) async throws -> [PeerAddress] {
        var addresses: [PeerAddress] = []
        if let fromDatabase {
            guard FileManager.default.fileExists(atPath: fromDatabase) else {
                throw CrawlError("--from-db: \(fromDatabase) does not exist")
            }
            addresses += try AddressStore(path: fromDatabase).recentAddresses(limit: configuration.maxNodes)
                .filter { AddressCheck.dialRefusal($0, allowPrivate: configuration.allowPrivateTargets) == nil }
        }
        var names = seeds
        if names.isEmpty && fromDatabase == nil {
            names = configuration.network.dnsSeeders
            logger.info("seeding from the DNS seeders", metadata: ["seeders": "\(names.joined(separator: ","))"])
        }
        let resolved = await SeedResolver(timeout: resolveTimeout).resolve(
            names, defaultPort: configuration.network.defaultPort)
        for failure in resolved.failures {
            logger.warning("cannot resolve a seed", metadata: ["seed": "\(failure)"])
        }
        return addresses + resolved.addresses
    }

    static func summary(_ store: CrawlStore, status: String) throws -> Summary {
        let row = try store.database.query(
            """
            SELECT (SELECT COUNT(*) FROM nodes WHERE state = 'done'),
                (SELECT COUNT(*) FROM nodes WHERE reachable = 1),
                (SELECT COUNT(DISTINCT COALESCE(peer_id, address)) FROM nodes WHERE reachable = 1),
                (SELECT COUNT(*) FROM nodes WHERE state = 'pending'),
                (SELECT COUNT(*) FROM edges)
            """
        ).first
        return Summary(
            status: status, visited: row?.integer(0) ?? 0, reachableAddresses: row?.integer(1) ?? 0,
            reachablePeers: row?.integer(2) ?? 0, pending: row?.integer(3) ?? 0, edges: row?.integer(4) ?? 0)
    }
}

/// A crawl could not start or finish; the message says what to do.
public struct CrawlError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
