import AddressBook
import Foundation
import KaspaP2P
import SensorReports
import Testing

@Suite("Reports and the address database")
struct ReportTests {
    /// A sensor events database with the columns the network report reads (as SQLiteSink writes them).
    static func eventsDatabase(_ path: String, _ rows: [(String, String, String, String, Int, Int)]) throws {
        let database = try SQLiteDatabase(path: path)
        try database.execute(
            """
            CREATE TABLE connection_events (sensor_id TEXT, peer_id TEXT, classification TEXT, user_agent TEXT,
                protocol_version INTEGER, recorded_at_us INTEGER)
            """)
        for row in rows {
            try database.query(
                "INSERT INTO connection_events VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                [.text(row.0), .text(row.1), .text(row.2), .text(row.3), .int(row.4), .int(row.5)])
        }
    }

    @Test("The network report counts unique peers by their latest label, per sensor and over all")
    func networkReport() throws {
        let directory = NSTemporaryDirectory() + "network-report-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kaspad = "/kaspad:2.0.1/kaspad:2.0.1/"
        // Sensor a: p1 public, p2 private then public (latest counts), p3 private, p4 private; p5 has no id.
        try Self.eventsDatabase(
            directory + "/a.db",
            [
                ("a", "p1", "public", kaspad, 10, 1), ("a", "p2", "private", kaspad, 10, 2),
                ("a", "p2", "public", kaspad, 10, 3), ("a", "p3", "private", "/other:1/", 9, 4),
                ("a", "p4", "private", kaspad, 10, 5), ("a", "", "unknown", "", 0, 6),
            ])
        try Self.eventsDatabase(
            directory + "/b.db", [("b", "p1", "private", kaspad, 10, 7), ("b", "p6", "unknown", kaspad, 10, 8)])
        let report = try NetworkReport.make(databases: [directory + "/a.db", directory + "/b.db"])
        #expect(report.sections.map(\.sensorID) == ["a", "b", "all"])
        let a = report.sections[0]
        #expect((a.uniquePeers, a.publicPeers, a.privatePeers, a.unknownPeers) == (4, 2, 2, 0))
        #expect(a.unreachableToReachable == 1.0)
        #expect(a.userAgents.map { "\($0.peers) \($0.value)" } == ["3 \(kaspad)", "1 /other:1/"])
        let all = report.sections[2]
        #expect((all.uniquePeers, all.publicPeers, all.privatePeers, all.unknownPeers) == (5, 1, 3, 1))
        let text = ReportRenderer.render(report, as: .text)
        #expect(
            text.contains("sensor a: 4 unique peers\n  public 2, private 2, unknown 0\n  unreachable:reachable 1.00"))
        #expect(ReportRenderer.render(report, as: .html).contains("<svg"))
        #expect(ReportRenderer.render(report, as: .json).contains("\"unreachable_to_reachable\" : 3"))
    }

    @Test("The address database canonicalises IPv4-mapped IPv6, skips invalid entries and counts sightings")
    func addressStore() throws {
        let path = NSTemporaryDirectory() + "addresses-" + UUID().uuidString + ".db"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try AddressStore(path: path)
        let advertiser = PeerAddress("127.0.0.9:16111")!
        let entries = [
            PeerAddress("[::ffff:1.2.3.4]:16111")!, PeerAddress("1.2.3.4:16111")!, PeerAddress("0.0.0.0:16111")!,
            PeerAddress("5.6.7.8:0")!, PeerAddress("[2001:db8::1]:16111")!,
        ]
        for time in [1, 2] as [Int64] {
            try store.record([
                AddressSighting(addresses: entries, advertiser: advertiser, advertiserPeerID: "ab", seenAtMicros: time)
            ])
        }
        #expect(try store.count() == 2)
        #expect(
            Set(try store.recentAddresses(limit: 10).map(\.description)) == ["1.2.3.4:16111", "[2001:db8::1]:16111"])
        let row = try SQLiteDatabase(path: path, readOnly: true).query(
            "SELECT first_seen_us, last_seen_us, times_seen FROM gossiped_addresses WHERE ip = '1.2.3.4'")
        #expect(row.first?.values == [.integer(1), .integer(2), .integer(2)])
        #expect(AddressCheck.dialRefusal(PeerAddress("[2001:db8::1]:16111")!, allowPrivate: false) != nil)
        #expect(AddressCheck.dialRefusal(PeerAddress("1.2.3.4:16111")!, allowPrivate: false) == nil)
    }
}
