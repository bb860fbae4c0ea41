import CSQLite
import SensorPluginAPI

/// A failed SQLite call: the result code and SQLite's message.
struct SQLiteError: Error {
    /// The (extended) SQLite result code.
    let code: Int32
    /// `sqlite3_errmsg` at the time of the failure.
    let message: String

    /// What opening and migrating answer (see ``batchStatus`` for `write_batch`): busy/locked databases are
    /// transient; a corrupt, read-only or vanished database makes the instance unusable; anything else fails.
    var status: Int32 {
        switch code & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return SENSOR_RETRY
        case SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH:
            return SENSOR_FATAL
        default:
            return SENSOR_ERROR
        }
    }

    /// What `write_batch` answers for a batch that failed with this error. Never acknowledge what was not stored,
    /// and never dead-letter what may be stored later: a full disk (`SQLITE_FULL`), an I/O error
    /// (`SQLITE_IOERR_*`), a database busy or locked past `busy_timeout_ms`, a WAL or shared-memory file that
    /// cannot be (re)opened (`SQLITE_CANTOPEN` once the database is open), memory or WAL-lock trouble all answer
    /// RETRY: the batch stays in the host's journal and is written once the cause is gone. What can never succeed
    /// (a constraint, a schema mismatch, a value too big) stays ERROR and is dead-lettered; a corrupt or read-only
    /// database is FATAL, as in ``status``.
    var batchStatus: Int32 {
        switch code & 0xff {
        case SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_NOMEM, SQLITE_PROTOCOL:
            return SENSOR_RETRY
        default:
            return status
        }
    }
}

/// One SQLite connection, used only on the thread of the instance that owns it (opened with
/// `SQLITE_OPEN_NOMUTEX`).
final class SQLiteConnection {
    /// The `sqlite3*` connection.
    let handle: OpaquePointer

    /// Opens (creating if needed) the database at `path`.
    init(path: String) throws(SQLiteError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw SQLiteError(code: result, message: message)
        }
        sqlite3_extended_result_codes(handle, 1)
        self.handle = handle
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// The error for result code `code`, with the connection's current message.
    func error(_ code: Int32) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs one or more statements that return no rows of interest.
    func execute(_ sql: String) throws(SQLiteError) {
        let result = sqlite3_exec(handle, sql, nil, nil, nil)
        guard result == SQLITE_OK else { throw error(result) }
    }

    /// Runs a statement and returns the first column of its first row as text (e.g. a PRAGMA's answer).
    func text(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        let result = sqlite3_step(statement)
        switch result {
        case SQLITE_ROW:
            return sqlite3_column_text(statement, 0).map { String(cString: $0) }
        case SQLITE_DONE:
            return nil
        default:
            throw error(result)
        }
    }

    /// Runs a statement and returns the first column of its first row as an integer.
    func integer(_ sql: String) throws(SQLiteError) -> Int64 {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        let result = sqlite3_step(statement)
        guard result == SQLITE_ROW else { throw error(result == SQLITE_DONE ? SQLITE_ERROR : result) }
        return sqlite3_column_int64(statement, 0)
    }

    /// Compiles `sql` into a prepared statement that the caller finalizes.
    func prepare(_ sql: String) throws(SQLiteError) -> OpaquePointer {
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else { throw error(result) }
        return statement
    }
}
