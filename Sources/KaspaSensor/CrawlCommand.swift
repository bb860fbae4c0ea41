import ArgumentParser
import Foundation
import KaspaP2P
import Logging
import NetworkCrawler
import SensorHost

/// `kaspa-sensor crawl`: maps the reachable network from DNS seeders, given addresses or an address database.
struct CrawlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crawl",
        abstract: "Crawl the reachable Kaspa network: dial, handshake, harvest addresses, follow them (resumable)."
    )

    @Option(help: "The crawl database (SQLite).")
    var output = "crawl.db"

    @Flag(help: "Continue the crawl in --output.")
    var resume = false

    @Option(help: "Seeds: host[:port],... (IPs or names; default: the network's DNS seeders).")
    var seed: [String] = []

    @Option(name: .customLong("from-db"), help: "Seed from an address database ([database] addressdb_path).")
    var fromDatabase: String?

    @Option(help: "mainnet, testnet-10, devnet or simnet.")
    var network = "mainnet"

    @Option(help: "Nodes visited at once.")
    var concurrency = 32

    @Option(name: .customLong("node-timeout-ms"), help: "The whole visit of one node.")
    var nodeTimeoutMilliseconds = 20_000

    @Option(name: .customLong("connect-timeout-ms"), help: "TCP connect timeout.")
    var connectTimeoutMilliseconds = 5_000

    @Option(help: "RequestAddresses rounds per node at most (fewer once a round brings nothing new).")
    var rounds = 8

    @Option(name: .customLong("round-spacing-ms"), help: "Pause between two rounds to one node.")
    var roundSpacingMilliseconds = 250

    @Option(name: .customLong("budget-secs"), help: "Stop after this long (resume later with --resume).")
    var budgetSeconds: Int?

    @Option(name: .customLong("max-nodes"), help: "Never know more addresses than this.")
    var maxNodes = 100_000

    @Flag(name: .customLong("allow-private"), help: "Also dial loopback/private addresses (tests, private networks).")
    var allowPrivate = false

    @Option(name: .customLong("user-agent-comment"), help: "Comment in our user agent.")
    var userAgentComment = "crawler"

    @Option(name: .customLong("csv-dir"), help: "Write nodes.csv and edges.csv here afterwards.")
    var csvDirectory: String?

    @Option(help: "Write the crawl as JSON here afterwards.")
    var json: String?

    func run() async throws {
        guard let kaspaNetwork = KaspaNetwork(named: network) else {
            throw ValidationError("--network: unknown network \(network)")
        }
        guard (1...4096).contains(concurrency) else { throw ValidationError("--concurrency: 1 to 4096") }
        guard (1...64).contains(rounds) else { throw ValidationError("--rounds: 1 to 64") }
        var settings = CrawlConfiguration(
            network: kaspaNetwork,
            userAgent: LocalVersion.userAgent(
                name: "kaspa-sensor", version: SensorApplication.version, comment: userAgentComment))
        settings.maxConcurrent = concurrency
        settings.nodeTimeout = .milliseconds(nodeTimeoutMilliseconds)
        settings.connectTimeout = .milliseconds(connectTimeoutMilliseconds)
        settings.addressRounds = rounds
        settings.roundSpacing = .milliseconds(roundSpacingMilliseconds)
        settings.budget = budgetSeconds.map { .seconds($0) }
        settings.maxNodes = maxNodes
        settings.allowPrivateTargets = allowPrivate
        var job = CrawlJob(output: output, configuration: settings)
        job.resume = resume
        job.seeds = seed.flatMap { $0.split(separator: ",").map(String.init) }
        job.fromDatabase = fromDatabase
        job.csvDirectory = csvDirectory
        job.jsonPath = json
        let logger = makeLogger(level: "info")
        let crawlJob = job
        let outcome: SignalCancelled<CrawlJob.Summary>
        do {
            outcome = try await withSignalCancellation {
                try await crawlJob.run(
                    progress: .automatic(logger: logger), logger: logger,
                    dialer: KaspaDialer(maxMessageBytes: 32 * 1024 * 1024))
            }
        } catch {
            throw StartupError(message: String(describing: error))
        }
        print(outcome.value)
        if let signal = outcome.signal, let code = outcome.exitCode {
            let advice =
                "crawl stopped by \(signal); the progress is saved in \(output). Continue it with:\n"
                + "  kaspa-sensor crawl --resume --output \(output) (plus the same options)\n"
            FileHandle.standardError.write(Data(advice.utf8))
            throw ExitCode(code)
        }
    }
}
