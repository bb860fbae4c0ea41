import CSQLite

/// Reads connection events back from a SQLiteSink database (read-only), for the verification command.
public struct EventDatabaseReader: Sendable {
    /// The columns the verification looks at.
    public struct Row: Sendable, Hashable {
        /// `public`, `private` or `unknown`.
        public var classification: String
        /// The probe outcome.
        public var probeOutcome: String
        /// The probe error, if any.
        public var probeError: String?
        /// The handshake outcome.
        public var handshakeOutcome: String
    }

    /// The database file.
    public var path: String

    /// Creates a reader for `path`.
    public init(path: String) {
        self.path = path
    }

    /// The connection event recorded for the peer id `peerIDHex`, or `nil` if there is none (yet).
    public func connectionEvent(peerIDHex: String) throws(EventDatabaseError) -> Row? {
        var database: OpaquePointer?
        guard sqlite3_open_v2(path, &database, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let database else {
            let message = database.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(database)
            throw EventDatabaseError(message: "cannot open \(path): \(message)")
        }
        defer { sqlite3_close(database) }
        sqlite3_busy_timeout(database, 2000)
        let sql = """
            SELECT classification, probe_outcome, probe_error, handshake_outcome
            FROM connection_events WHERE peer_id = ?1 ORDER BY recorded_at_us DESC LIMIT 1
            """
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK else {
            throw EventDatabaseError(message: "cannot query \(path): \(String(cString: sqlite3_errmsg(database)))")
        }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        sqlite3_bind_text(statement, 1, peerIDHex, -1, transient)
        guard sqlite3_step(statement) == SQLITE_ROW else { return nil }
        func text(_ column: Int32) -> String? {
            sqlite3_column_text(statement, column).map { String(cString: $0) }
        }
        return Row(
            classification: text(0) ?? "",
            probeOutcome: text(1) ?? "",
            probeError: text(2),
            handshakeOutcome: text(3) ?? ""
        )
    }
}

/// The events database could not be read.
public struct EventDatabaseError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}
