import AddressBook
import Foundation

/// The network as sensors saw it, from one or more sensor event databases (SQLiteSink's `connection_events`):
/// per sensor id and over all, unique peers (by peer id) labelled public, private or unknown (each peer by its
/// latest event), their user agents and protocol versions, and the unreachable-to-reachable ratio.
public struct NetworkReport: Codable, Sendable, Hashable {
    /// One sensor id, or `all` for every sensor together.
    public struct Section: Codable, Sendable, Hashable {
        /// The sensor id, or `all`.
        public var sensorID: String
        /// Unique peer ids that sent a Version.
        public var uniquePeers: Int
        /// Labelled `public` (the dial-back got a Version).
        public var publicPeers: Int
        /// Labelled `private`.
        public var privatePeers: Int
        /// Labelled `unknown`.
        public var unknownPeers: Int
        /// `privatePeers / publicPeers`, or `nil` when there is no public peer.
        public var unreachableToReachable: Double?
        /// Unique peers per user agent, most common first.
        public var userAgents: [Count]
        /// Unique peers per advertised protocol version, most common first.
        public var protocolVersions: [Count]
    }

    /// A value and how many unique peers had it.
    public struct Count: Codable, Sendable, Hashable {
        /// The value.
        public var value: String
        /// Unique peers.
        public var peers: Int
    }

    /// One section per sensor id (sorted), then `all` when there is more than one.
    public var sections: [Section]

    /// Computes the report over the databases at `paths`.
    public static func make(databases paths: [String]) throws(ReportError) -> NetworkReport {
        guard !paths.isEmpty else { throw ReportError("no sensor database given") }
        // Latest event per (sensor, peer id) over every file.
        var latest: [String: [String: (time: Int, classification: String, agent: String, version: String)]] = [:]
        for path in paths {
            guard FileManager.default.fileExists(atPath: path) else { throw ReportError("\(path): no such file") }
            let rows: [SQLiteRow]
            do {
                let database = try SQLiteDatabase(path: path, readOnly: true)
                rows = try database.query(
                    """
                    SELECT sensor_id, peer_id, COALESCE(classification, 'unknown'), COALESCE(user_agent, ''),
                        COALESCE(protocol_version, ''), recorded_at_us
                    FROM connection_events WHERE peer_id IS NOT NULL AND peer_id != ''
                    """)
            } catch {
                throw ReportError("\(path): not a sensor events database (\(error.message))")
            }
            for row in rows {
                let sensor = row.text(0) ?? "", peer = row.text(1) ?? "", time = row.integer(5) ?? 0
                if let known = latest[sensor]?[peer], known.time > time { continue }
                latest[sensor, default: [:]][peer] = (time, row.text(2) ?? "", row.text(3) ?? "", row.text(4) ?? "")
            }
        }
        var sections = latest.keys.sorted().map { section($0, Array(latest[$0]!.values)) }
        if latest.count > 1 {
            var all: [String: (time: Int, classification: String, agent: String, version: String)] = [:]
            for peers in latest.values {
                for (peer, entry) in peers where all[peer].map({ $0.time <= entry.time }) ?? true {
                    all[peer] = entry
                }
            }
            sections.append(section("all", Array(all.values)))
        }
        return NetworkReport(sections: sections)
    }

    private static func section(
        _ sensorID: String, _ peers: [(time: Int, classification: String, agent: String, version: String)]
    ) -> Section {
        let labels = Dictionary(grouping: peers, by: \.classification).mapValues(\.count)
        let publicPeers = labels["public"] ?? 0
        let privatePeers = labels["private"] ?? 0
        return Section(
            sensorID: sensorID,
            uniquePeers: peers.count,
            publicPeers: publicPeers,
            privatePeers: privatePeers,
            unknownPeers: peers.count - publicPeers - privatePeers,
            unreachableToReachable: publicPeers == 0 ? nil : Double(privatePeers) / Double(publicPeers),
            userAgents: counts(peers.map(\.agent)),
            protocolVersions: counts(peers.map(\.version))
        )
    }

    private static func counts(_ values: [String]) -> [Count] {
        Dictionary(grouping: values, by: { $0 }).map { Count(value: $0.key, peers: $0.value.count) }
            .sorted { ($0.peers, $1.value) > ($1.peers, $0.value) }
    }
}
