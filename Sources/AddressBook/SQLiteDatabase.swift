import CSQLite

/// A small wrapper over one SQLite connection: open (creating the file), run statements, bind and read rows.
/// Not thread-safe; one owner (a thread or a task) uses it at a time.
public final class SQLiteDatabase {
    /// The file.
    public let path: String
    private let handle: OpaquePointer

    /// Opens `path` (creating it unless `readOnly`), in WAL mode for writers, with a busy timeout.
    public init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        var database: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        guard sqlite3_open_v2(path, &database, flags | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let database else {
            let message = database.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(database)
            throw SQLiteError(path: path, message: "cannot open: \(message)")
        }
        self.path = path
        self.handle = database
        sqlite3_busy_timeout(database, 5000)
        if !readOnly {
            try execute("PRAGMA journal_mode = WAL")
            try execute("PRAGMA synchronous = NORMAL")
        }
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements without parameters.
    public func execute(_ sql: String) throws(SQLiteError) {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? lastError
            sqlite3_free(error)
            throw SQLiteError(path: path, message: "\(message) (in \(sql.prefix(80)))")
        }
    }

    /// Prepares one statement.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw SQLiteError(path: path, message: "\(lastError) (in \(sql.prefix(80)))")
        }
        return SQLiteStatement(statement, database: self)
    }

    /// Runs `sql` with `values` bound to `?1`, `?2`, … and returns every row.
    @discardableResult
    public func query(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> [SQLiteRow] {
        let statement = try prepare(sql)
        try statement.bind(values)
        return try statement.rows()
    }

    /// Runs `body` in one transaction, committed when it returns and rolled back when it throws.
    public func transaction<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// `PRAGMA user_version`.
    public var userVersion: Int {
        get throws(SQLiteError) { try query("PRAGMA user_version").first?.integer(0) ?? 0 }
    }

    /// Brings the schema to the last of `migrations` (index 0 is version 1), each in its own transaction. The
    /// version is read again inside each (`BEGIN IMMEDIATE`) transaction, so two processes opening a new file at
    /// once (a crawl starting while a report reads it) apply every migration exactly once.
    public func migrate(_ migrations: [[String]]) throws(SQLiteError) {
        for (index, statements) in migrations.enumerated() {
            try transaction { () throws(SQLiteError) in
                let current = try userVersion
                guard current <= migrations.count else {
                    throw SQLiteError(
                        path: path, message: "schema version \(current) is newer than this build (\(migrations.count))")
                }
                guard current == index else { return }
                for statement in statements {
                    try execute(statement)
                }
                try execute("PRAGMA user_version = \(index + 1)")
            }
        }
    }

    /// The rowid of the last inserted row.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    var lastError: String { String(cString: sqlite3_errmsg(handle)) }
}

/// A SQLite failure, naming the file.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The database file.
    public var path: String
    /// SQLite's words and the statement.
    public var message: String

    /// Creates an error.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`.
    public var description: String { "\(path): \(message)" }
}
