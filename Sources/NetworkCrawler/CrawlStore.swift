public import AddressBook
public import KaspaP2P

/// The crawl database: the frontier and the visited nodes (so a crawl resumes where it stopped), every address
/// response, and through them the edges "node A advertised address B". One file holds one crawl.
public final class CrawlStore {
    /// Schema versions in order; append only.
    static let migrations: [[String]] = [
        [
            "CREATE TABLE crawl_info (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
            """
            CREATE TABLE nodes (
                address TEXT PRIMARY KEY NOT NULL,
                ip TEXT NOT NULL,
                port INTEGER NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending',
                source TEXT NOT NULL,
                discovered_at_us INTEGER NOT NULL,
                visited_at_us INTEGER,
                reachable INTEGER,
                failure TEXT,
                failure_detail TEXT,
                peer_id TEXT,
                user_agent TEXT,
                protocol_version INTEGER,
                peer_network TEXT,
                latency_ms REAL,
                address_rounds INTEGER,
                addresses_received INTEGER
            )
            """,
            "CREATE INDEX nodes_state ON nodes (state)",
            "CREATE INDEX nodes_peer_id ON nodes (peer_id)",
            """
            CREATE TABLE responses (
                id INTEGER PRIMARY KEY,
                node_address TEXT NOT NULL,
                round INTEGER NOT NULL,
                received_at_us INTEGER NOT NULL,
                entries INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE response_entries (
                response_id INTEGER NOT NULL,
                address TEXT NOT NULL,
                ip TEXT NOT NULL,
                port INTEGER NOT NULL,
                PRIMARY KEY (response_id, address)
            )
            """,
            "CREATE INDEX response_entries_ip ON response_entries (ip)",
            """
            CREATE VIEW edges AS SELECT DISTINCT r.node_address AS advertiser, e.address AS advertised
            FROM responses r JOIN response_entries e ON e.response_id = r.id
            """,
        ]
    ]

    /// The database file.
    public var path: String { database.path }
    let database: SQLiteDatabase

    /// Opens (creating and migrating) the crawl database at `path`.
    public init(path: String) throws(SQLiteError) {
        database = try SQLiteDatabase(path: path)
        try database.migrate(Self.migrations)
    }

    /// A value of `crawl_info` (`network`, `started_at_us`, `finished_at_us`, `status`, `user_agent`).
    public func info(_ key: String) throws(SQLiteError) -> String? {
        try database.query("SELECT value FROM crawl_info WHERE key = ?1", [.text(key)]).first?.text(0)
    }

    /// Sets a value of `crawl_info`.
    public func setInfo(_ key: String, _ value: String) throws(SQLiteError) {
        try database.query(
            "INSERT INTO crawl_info (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [.text(key), .text(value)])
    }

    /// Nodes known so far (visited or not).
    public func nodeCount() throws(SQLiteError) -> Int {
        try database.query("SELECT COUNT(*) FROM nodes").first?.integer(0) ?? 0
    }

    /// Nodes visited so far.
    public func visitedCount() throws(SQLiteError) -> Int {
        try database.query("SELECT COUNT(*) FROM nodes WHERE state = 'done'").first?.integer(0) ?? 0
    }

    /// Adds `addresses` to the frontier unless known; returns those that are new.
    @discardableResult
    public func addPending(_ addresses: [PeerAddress], source: String, atMicros: Int64, limit: Int) throws(SQLiteError)
        -> [PeerAddress]
    {
        try database.transaction { () throws(SQLiteError) -> [PeerAddress] in
            try insertPending(addresses, source: source, atMicros: atMicros, limit: limit)
        }
    }

    /// The frontier: known addresses not visited yet, in order of discovery.
    public func pending() throws(SQLiteError) -> [PeerAddress] {
        try database.query("SELECT ip, port FROM nodes WHERE state = 'pending' ORDER BY discovered_at_us, address")
            .compactMap(Self.address)
    }

    /// Stores a visit and adds the dialable addresses it learnt to the frontier, in one transaction; returns the
    /// addresses new to the frontier.
    public func save(_ visit: NodeVisit, follow: (PeerAddress) -> Bool, limit: Int) throws(SQLiteError)
        -> [PeerAddress]
    {
        try database.transaction { () throws(SQLiteError) -> [PeerAddress] in
            let version = visit.peerVersion
            try database.query(
                """
                UPDATE nodes SET state = 'done', visited_at_us = ?2, reachable = ?3, failure = ?4, failure_detail = ?5,
                    peer_id = ?6, user_agent = ?7, protocol_version = ?8, peer_network = ?9, latency_ms = ?10,
                    address_rounds = ?11, addresses_received = ?12
                WHERE address = ?1
                """,
                [
                    .text(visit.address.description), .integer(visit.visitedAtMicros), .int(visit.reachable ? 1 : 0),
                    .string(visit.failure), .string(visit.failureDetail), .string(version?.idHex),
                    .string(version?.userAgent), .int(version.map { Int($0.protocolVersion) }),
                    .string(version?.network), visit.latency.map { .real($0.milliseconds) } ?? .null,
                    .int(visit.responses.count), .int(visit.responses.reduce(0) { $0 + $1.addresses.count }),
                ])
            let response = try database.prepare(
                "INSERT INTO responses (node_address, round, received_at_us, entries) VALUES (?1, ?2, ?3, ?4)")
            let entry = try database.prepare(
                "INSERT OR IGNORE INTO response_entries (response_id, address, ip, port) VALUES (?1, ?2, ?3, ?4)")
            for (round, answer) in visit.responses.enumerated() {
                try response.run([
                    .text(visit.address.description), .int(round + 1), .integer(answer.receivedAtMicros),
                    .int(answer.addresses.count),
                ])
                let id = database.lastInsertRowID
                for address in answer.addresses {
                    try entry.run([
                        .integer(id), .text(address.description), .text(address.ip.description),
                        .int(Int(address.port)),
                    ])
                }
            }
            let learnt = visit.responses.flatMap(\.addresses).filter(follow)
            return try insertPending(learnt, source: "gossip", atMicros: visit.visitedAtMicros, limit: limit)
        }
    }

    private func insertPending(_ addresses: [PeerAddress], source: String, atMicros: Int64, limit: Int)
        throws(SQLiteError) -> [PeerAddress]
    {
        var known = try nodeCount()
        let insert = try database.prepare(
            """
            INSERT OR IGNORE INTO nodes (address, ip, port, source, discovered_at_us) VALUES (?1, ?2, ?3, ?4, ?5)
            """)
        var added: [PeerAddress] = []
        var seen: Set<PeerAddress> = []
        for address in addresses where known < limit && seen.insert(address).inserted {
            try insert.run([
                .text(address.description), .text(address.ip.description), .int(Int(address.port)), .text(source),
                .integer(atMicros),
            ])
            if try database.query("SELECT changes()").first?.integer(0) == 1 {
                added.append(address)
                known += 1
            }
        }
        return added
    }

    static func address(_ row: SQLiteRow) -> PeerAddress? {
        guard let ip = row.text(0).flatMap({ IPAddress($0) }), let port = row.integer(1) else { return nil }
        return PeerAddress(ip: ip, port: UInt16(clamping: port))
    }
}

extension Duration {
    /// The duration in milliseconds.
    var milliseconds: Double {
        let parts = components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }
}
