public import KaspaP2P

/// One batch of gossip: the entries of one `Addresses` message and who sent it.
public struct AddressSighting: Sendable, Hashable {
    /// The entries (canonical: IPv4-mapped IPv6 is IPv4).
    public var addresses: [PeerAddress]
    /// The connection's remote address (the peer that advertised them).
    public var advertiser: PeerAddress
    /// The advertiser's peer id (hex), when its Version arrived.
    public var advertiserPeerID: String?
    /// When the message arrived, microseconds since the Unix epoch.
    public var seenAtMicros: Int64

    /// Creates a sighting.
    public init(addresses: [PeerAddress], advertiser: PeerAddress, advertiserPeerID: String?, seenAtMicros: Int64) {
        self.addresses = addresses
        self.advertiser = advertiser
        self.advertiserPeerID = advertiserPeerID
        self.seenAtMicros = seenAtMicros
    }
}

/// The address database (`[database] addressdb_path`): every address a peer gossiped to us, per advertiser, with
/// first and last sighting and a count. Versioned with `PRAGMA user_version`.
public final class AddressStore {
    /// Schema versions in order; append only.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE gossiped_addresses (
                ip TEXT NOT NULL,
                port INTEGER NOT NULL,
                advertiser TEXT NOT NULL,
                advertiser_peer_id TEXT,
                first_seen_us INTEGER NOT NULL,
                last_seen_us INTEGER NOT NULL,
                times_seen INTEGER NOT NULL,
                PRIMARY KEY (ip, port, advertiser)
            )
            """,
            "CREATE INDEX gossiped_addresses_last_seen ON gossiped_addresses (last_seen_us)",
        ]
    ]

    private let database: SQLiteDatabase
    private let upsert: SQLiteStatement

    /// Opens (creating and migrating) the database at `path`.
    public init(path: String) throws(SQLiteError) {
        database = try SQLiteDatabase(path: path)
        try database.migrate(Self.migrations)
        upsert = try database.prepare(
            """
            INSERT INTO gossiped_addresses
                (ip, port, advertiser, advertiser_peer_id, first_seen_us, last_seen_us, times_seen)
            VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1)
            ON CONFLICT (ip, port, advertiser) DO UPDATE SET
                last_seen_us = MAX(last_seen_us, excluded.last_seen_us),
                times_seen = times_seen + 1,
                advertiser_peer_id = COALESCE(excluded.advertiser_peer_id, advertiser_peer_id)
            """)
    }

    /// Stores the sightings in one transaction; entries failing ``AddressCheck/storageRefusal(_:)`` are skipped.
    /// Returns how many entries were stored.
    @discardableResult
    public func record(_ sightings: [AddressSighting]) throws(SQLiteError) -> Int {
        try database.transaction { () throws(SQLiteError) -> Int in
            var stored = 0
            for sighting in sightings {
                for address in Set(sighting.addresses) where AddressCheck.storageRefusal(address) == nil {
                    try upsert.run([
                        .text(address.ip.description), .int(Int(address.port)), .text(sighting.advertiser.description),
                        .string(sighting.advertiserPeerID), .integer(sighting.seenAtMicros),
                    ])
                    stored += 1
                }
            }
            return stored
        }
    }

    /// Distinct addresses, most recently seen first (at most `limit`).
    public func recentAddresses(limit: Int) throws(SQLiteError) -> [PeerAddress] {
        try database.query(
            """
            SELECT ip, port FROM gossiped_addresses GROUP BY ip, port ORDER BY MAX(last_seen_us) DESC LIMIT ?1
            """, [.int(limit)]
        ).compactMap { row in
            guard let ip = row.text(0).flatMap({ IPAddress($0) }), let port = row.integer(1) else { return nil }
            return PeerAddress(ip: ip, port: UInt16(clamping: port))
        }
    }

    /// Rows stored (one per address and advertiser).
    public func count() throws(SQLiteError) -> Int {
        try database.query("SELECT COUNT(*) FROM gossiped_addresses").first?.integer(0) ?? 0
    }
}
