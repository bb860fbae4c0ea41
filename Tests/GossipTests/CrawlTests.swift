import AddressBook
import Foundation
import KaspaP2P
import NetworkCrawler
import SensorReports
import TestSupport
import Testing

@Suite("Phase 3: crawl, gossip report and announcement on a simulated network", .serialized)
struct CrawlTests {
    @Test("The crawl finds exactly the reachable nodes and the advertised edges; the gossip report is exact")
    func crawlAndReport() async throws {
        let network = try await SimulatedNetwork(nodes: StudyNetwork.nodes(), refused: StudyNetwork.refused)
        let runner = try CrawlRunner()
        defer { runner.remove() }
        let started = ContinuousClock.now
        let summary = try await runner.run(runner.job("crawl.db"))
        print("crawl of \(network.nodes.count) simulated nodes: \(summary) in \(ContinuousClock.now - started)")

        let nodes = try CrawlRunner.nodes(runner.path("crawl.db"))
        let reachable = Set(nodes.filter(\.value.reachable).keys)
        #expect(reachable == Set(network.reachable.map(\.description)))
        for address in StudyNetwork.refused {
            #expect(nodes[address.description]?.failure == "connection_refused")
        }
        // TCP open and nothing said: no HTTP/2 SETTINGS, so not a gRPC server (decided fast, not at the node timeout).
        for address in StudyNetwork.silent {
            #expect(nodes[address.description]?.failure == "not_http2")
        }
        #expect(summary.status == "complete")
        #expect(summary.reachableAddresses == StudyNetwork.count + 1)
        #expect(summary.reachablePeers == StudyNetwork.count)  // node 0 and its twin are one peer id
        #expect(nodes[StudyNetwork.twin.description]?.peerID == nodes[StudyNetwork.address(0).description]?.peerID)
        #expect(try CrawlRunner.edges(runner.path("crawl.db")) == StudyNetwork.expectedEdges(network.nodes))

        let report = try GossipReport.make(
            sensorIPs: [StudyNetwork.sensorA, StudyNetwork.sensorB, StudyNetwork.sensorC],
            crawls: [runner.path("crawl.db")])
        let text = ReportRenderer.render(report, as: .text)
        #expect(text.contains("60 of 240 responding peers (25.00%), 120 of 480 responses (25.00%)"))
        #expect(text.contains("24 of 240 responding peers (10.00%), 48 of 480 responses (10.00%)"))
        #expect(text.contains("0 of 240 responding peers (0.00%)"))
        let json = ReportRenderer.render(report, as: .json)
        #expect(json.contains("\"peer_share_percent\" : 25"))
        let html = ReportRenderer.render(report, as: .html)
        #expect(html.contains("<svg") && html.contains("25.00%") && !html.contains("http://www.w3.org/1999"))
    }

    @Test("An interrupted crawl resumes to the same nodes and edges as an uninterrupted one")
    func interruptAndResume() async throws {
        let network = try await SimulatedNetwork(nodes: StudyNetwork.nodes(), refused: StudyNetwork.refused)
        let runner = try CrawlRunner()
        defer { runner.remove() }
        _ = try await runner.run(runner.job("full.db"))

        let path = runner.path("resumed.db")
        let first = Task { try await runner.run(runner.job("resumed.db")) }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: path),
                let visited = try? CrawlStore(path: path).visitedCount(), visited >= 40
            {
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        first.cancel()
        let interrupted = try await first.value
        #expect(interrupted.status == "interrupted")
        #expect(interrupted.pending > 0)

        let resumed = try await runner.run(runner.job("resumed.db", resume: true))
        #expect(resumed.status == "complete")
        let full = try CrawlRunner.nodes(runner.path("full.db"))
        let again = try CrawlRunner.nodes(path)
        #expect(Set(again.keys) == Set(full.keys))
        #expect(Set(again.filter(\.value.reachable).keys) == Set(full.filter(\.value.reachable).keys))
        #expect(try CrawlRunner.edges(path) == CrawlRunner.edges(runner.path("full.db")))
        _ = network
    }

    @Test("Announcement puts the sensor address into the dialed nodes' books, and a crawl then sees it gossiped")
    func announcement() async throws {
        let network = try await SimulatedNetwork(nodes: StudyNetwork.nodes(), refused: StudyNetwork.refused)
        let runner = try CrawlRunner()
        defer { runner.remove() }
        let external = PeerAddress("127.50.0.9:16111")!
        var settings = Announcer.Settings(externalAddress: external, visit: CrawlRunner.configuration())
        settings.maxPeers = 6
        settings.configuredPeers = (10..<16).map(StudyNetwork.address)
        let visits = await Announcer(settings: settings, dialer: KaspaDialer(maxMessageBytes: 1 << 24))
            .announceOnce()
        #expect(visits.count == 6)
        #expect(visits.allSatisfy { $0.reachable && $0.failure == nil })
        let added = Set(network.addedToBooks.filter { $0.address == external.description }.map(\.node))
        #expect(added == Set((10..<16).map { StudyNetwork.address($0).description }))

        _ = try await runner.run(runner.job("after.db"))
        let report = try GossipReport.make(sensorIPs: ["127.50.0.9"], crawls: [runner.path("after.db")])
        #expect(report.sensors[0].points[0].peersContaining == 6)
        #expect(ReportRenderer.render(report, as: .text).contains("6 of 240 responding peers (2.50%)"))
    }
}
