import AddressBook
import Foundation
import KaspaP2P

/// Where sensor addresses appear in the network's gossip, from one or more crawl databases over time: per crawl,
/// the share of responding peers whose `Addresses` answers contained the sensor's IP and the share of all answers
/// that did. Peers are counted once per peer id (a node reachable under two addresses answers for one).
public struct GossipReport: Codable, Sendable, Hashable {
    /// One sensor address in one crawl.
    public struct Point: Codable, Sendable, Hashable {
        /// The crawl database.
        public var crawl: String
        /// When the crawl started, microseconds since the Unix epoch.
        public var crawlStartedAtMicros: Int64
        /// Peers (unique peer ids) that answered at least one RequestAddresses.
        public var respondingPeers: Int
        /// Those whose answers contained the sensor's IP.
        public var peersContaining: Int
        /// `Addresses` answers from the responding peers.
        public var responses: Int
        /// Those containing the sensor's IP.
        public var responsesContaining: Int
        /// `peersContaining / respondingPeers`, in percent.
        public var peerSharePercent: Double
        /// `responsesContaining / responses`, in percent.
        public var responseSharePercent: Double
    }

    /// One sensor address across the crawls.
    public struct Series: Codable, Sendable, Hashable {
        /// The sensor's IP (canonical).
        public var sensorIP: String
        /// One point per crawl, oldest first.
        public var points: [Point]
        /// The start of the first crawl that saw the address, if any.
        public var firstSeenAtMicros: Int64?
        /// From the first crawl that saw it to the start of the last crawl, in hours.
        public var hoursSinceFirstSeen: Double?
        /// Peer share of the last crawl minus that of the first, in percentage points.
        public var trendPercentagePoints: Double
    }

    /// One series per sensor address, in the order asked.
    public var sensors: [Series]

    /// Computes the report for `sensorIPs` over the crawl databases at `crawls` (any order; sorted by start).
    public static func make(sensorIPs: [String], crawls: [String]) throws(ReportError) -> GossipReport {
        var ips: [IPAddress] = []
        for text in sensorIPs {
            guard let ip = IPAddress(text) else { throw ReportError("--sensor-ip: not an IP address: \"\(text)\"") }
            ips.append(ip.canonical)
        }
        guard !crawls.isEmpty else { throw ReportError("no crawl database given") }
        var databases: [(path: String, database: SQLiteDatabase, started: Int64)] = []
        for path in crawls {
            do {
                guard FileManager.default.fileExists(atPath: path) else { throw ReportError("\(path): no such file") }
                let database = try SQLiteDatabase(path: path, readOnly: true)
                let started =
                    try database.query("SELECT value FROM crawl_info WHERE key = 'started_at_us'")
                    .first?.text(0).flatMap { Int64($0) } ?? 0
                databases.append((path, database, started))
            } catch let error as ReportError {
                throw error
            } catch {
                throw ReportError("\(path): not a crawl database (\(error))")
            }
        }
        databases.sort { $0.started < $1.started }
        var series: [Series] = []
        for ip in ips {
            var points: [Point] = []
            for crawl in databases {
                do {
                    points.append(try point(ip: ip.description, crawl.database, started: crawl.started))
                } catch {
                    throw ReportError("\(crawl.path): \(error.message)")
                }
            }
            let first = points.first { $0.peersContaining > 0 }
            let last = points.last
            series.append(
                Series(
                    sensorIP: ip.description,
                    points: points,
                    firstSeenAtMicros: first?.crawlStartedAtMicros,
                    hoursSinceFirstSeen: first.flatMap { first in
                        last.map { Double($0.crawlStartedAtMicros - first.crawlStartedAtMicros) / 3.6e9 }
                    },
                    trendPercentagePoints: (last?.peerSharePercent ?? 0) - (points.first?.peerSharePercent ?? 0)
                ))
        }
        return GossipReport(sensors: series)
    }

    private static func point(ip: String, _ database: SQLiteDatabase, started: Int64) throws(SQLiteError) -> Point {
        // One answering address per peer id: the smallest, so IPv4/IPv6 twins of one node count once.
        let row = try database.query(
            """
            WITH canonical AS (
                SELECT MIN(address) AS address FROM nodes
                WHERE reachable = 1 AND address_rounds > 0 GROUP BY COALESCE(peer_id, address)
            ),
            counted AS (SELECT * FROM responses WHERE node_address IN (SELECT address FROM canonical)),
            containing AS (
                SELECT DISTINCT c.id, c.node_address FROM counted c
                JOIN response_entries e ON e.response_id = c.id WHERE e.ip = ?1
            )
            SELECT (SELECT COUNT(*) FROM canonical), (SELECT COUNT(DISTINCT node_address) FROM containing),
                (SELECT COUNT(*) FROM counted), (SELECT COUNT(*) FROM containing)
            """, [.text(ip)]
        ).first
        let responding = row?.integer(0) ?? 0
        let peers = row?.integer(1) ?? 0
        let responses = row?.integer(2) ?? 0
        let containing = row?.integer(3) ?? 0
        return Point(
            crawl: database.path,
            crawlStartedAtMicros: started,
            respondingPeers: responding,
            peersContaining: peers,
            responses: responses,
            responsesContaining: containing,
            peerSharePercent: percent(peers, of: responding),
            responseSharePercent: percent(containing, of: responses)
        )
    }
}

/// `part / whole` in percent, 0 when `whole` is 0.
func percent(_ part: Int, of whole: Int) -> Double {
    whole == 0 ? 0 : Double(part) * 100 / Double(whole)
}
