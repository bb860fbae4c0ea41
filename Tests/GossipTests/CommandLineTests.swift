import AddressBook
import Foundation
import NetworkCrawler
import TestSupport
import Testing

/// The real `kaspa-sensor` executable: `crawl` and `report` as a user runs them, exit statuses included.
@Suite("kaspa-sensor crawl and report as child processes", .serialized)
struct CommandLineTests {
    /// Options every test crawl shares: loopback targets, short timeouts, one RequestAddresses round per node.
    static func crawlOptions(seed: String, output: String) -> [String] {
        [
            "crawl", "--seed", seed, "--output", output, "--allow-private", "--rounds", "1",
            "--round-spacing-ms", "20", "--connect-timeout-ms", "2000", "--node-timeout-ms", "5000",
        ]
    }

    @Test("crawl writes SQLite, CSV and JSON; report gossip prints the known shares as text, JSON and HTML")
    func crawlAndReport() async throws {
        let ring = RingNetwork(count: 12, block: 1)
        let network = try await SimulatedNetwork(nodes: ring.nodes)
        let runner = try CrawlRunner()
        defer { runner.remove() }
        let database = runner.path("crawl.db")
        let crawl = try await CommandProcess.runKaspaSensor(
            Self.crawlOptions(seed: ring.address(0).description, output: database)
                + ["--csv-dir", runner.directory, "--json", runner.path("crawl.json")])
        #expect(crawl.status == 0, "\(crawl.errors)")
        #expect(
            crawl.output.contains(
                "crawl complete: 13 addresses visited, 12 reachable (12 unique peer ids), 0 pending, 28 edges"),
            "\(crawl.output)")
        #expect(try CrawlRunner.edges(database) == ring.edges)
        let nodesCSV = try String(contentsOfFile: runner.path("nodes.csv"), encoding: .utf8)
        #expect(nodesCSV.split(separator: "\n").count == 1 + 13)
        let edgesCSV = try String(contentsOfFile: runner.path("edges.csv"), encoding: .utf8)
        #expect(edgesCSV.split(separator: "\n").count == 1 + 28)
        let json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: runner.path("crawl.json"))))
        #expect(json is [String: Any])

        let gossip = ["report", "gossip", "--sensor-ip", RingNetwork.sensorIP]
        let text = try await CommandProcess.runKaspaSensor(gossip + [database])
        #expect(text.status == 0, "\(text.errors)")
        #expect(
            text.output.contains("4 of 12 responding peers (33.33%), 4 of 12 responses (33.33%)"), "\(text.output)")
        let asJSON = try await CommandProcess.runKaspaSensor(gossip + ["--format", "json", database])
        #expect(asJSON.status == 0)
        #expect(try JSONSerialization.jsonObject(with: Data(asJSON.output.utf8)) is [String: Any])
        #expect(asJSON.output.contains("\"peers_containing\" : 4"), "\(asJSON.output)")
        let html = try await CommandProcess.runKaspaSensor(gossip + ["--format", "html", database])
        #expect(html.status == 0)
        #expect(html.output.hasPrefix("<!DOCTYPE html>") && html.output.contains("<svg"))
        #expect(html.output.contains("33.33%"))

        let missing = try await CommandProcess.runKaspaSensor(gossip + [runner.path("absent.db")])
        #expect(missing.status != 0)
        #expect(missing.errors.contains("absent.db"), "\(missing.errors)")
        _ = network
    }

    @Test("SIGINT stops a crawl gracefully: status interrupted, exit 130, how to resume; --resume completes it")
    func interruptAndResume() async throws {
        let ring = RingNetwork(count: 24, block: 2)
        let network = try await SimulatedNetwork(nodes: ring.nodes, answerDelay: .milliseconds(250))
        let runner = try CrawlRunner()
        defer { runner.remove() }
        let database = runner.path("crawl.db")
        let options = Self.crawlOptions(seed: ring.address(0).description, output: database) + ["--concurrency", "2"]
        let crawl = try CommandProcess.kaspaSensor(options)
        let started = try await eventually(timeout: .seconds(15)) {
            FileManager.default.fileExists(atPath: database)
                && ((try? CrawlStore(path: database).visitedCount()) ?? 0) >= 4
        }
        #expect(started, "\(crawl.standardError)")
        crawl.send(SIGINT)
        let interrupted = try await crawl.finished()
        #expect(interrupted.status == 130, "\(interrupted.errors)")
        #expect(interrupted.output.contains("crawl interrupted:"), "\(interrupted.output)")
        #expect(interrupted.errors.contains("kaspa-sensor crawl --resume --output \(database)"))
        let store = try CrawlStore(path: database)
        #expect(try store.info("status") == "interrupted")
        let visitedBefore = try store.visitedCount()
        #expect(visitedBefore >= 4 && visitedBefore < 25)

        let resumed = try await CommandProcess.runKaspaSensor(options + ["--resume"], limit: .seconds(30))
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("crawl complete: 25 addresses visited, 24 reachable"), "\(resumed.output)")
        #expect(try store.info("status") == "complete")
        // What an uninterrupted crawl finds (the first test checks that one against the same construction).
        let nodes = try CrawlRunner.nodes(database)
        #expect(Set(nodes.filter(\.value.reachable).keys) == Set(ring.nodes.map { $0.listen[0].description }))
        #expect(try CrawlRunner.edges(database) == ring.edges)
        _ = network
    }
}
