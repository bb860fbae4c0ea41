import CSQLite
import Foundation
import Testing

/// Reads a database written by the SQLite sink, independently of the sink's code.
final class SQLiteReader {
    private let handle: OpaquePointer

    /// Opens the database at `path` read-write (it must exist).
    init(path: String) throws {
        var handle: OpaquePointer?
        let result = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil)
        try #require(result == SQLITE_OK, "cannot open \(path): \(result)")
        self.handle = try #require(handle)
    }

    /// Creates (or opens) the database at `path`, to lay out a database as an earlier schema left it.
    init(creating path: String) throws {
        var handle: OpaquePointer?
        let result = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil)
        try #require(result == SQLITE_OK, "cannot create \(path): \(result)")
        self.handle = try #require(handle)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Every row of `sql`, as column name → value (Int64, Double, String or nil).
    func rows(_ sql: String) throws -> [[String: (any Sendable)?]] {
        var statement: OpaquePointer?
        try #require(sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, "\(sql)")
        defer { sqlite3_finalize(statement) }
        var rows: [[String: (any Sendable)?]] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            var row: [String: (any Sendable)?] = [:]
            for column in 0..<sqlite3_column_count(statement) {
                let name = String(cString: sqlite3_column_name(statement, column))
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: row[name] = sqlite3_column_int64(statement, column)
                case SQLITE_FLOAT: row[name] = sqlite3_column_double(statement, column)
                case SQLITE_TEXT: row[name] = String(cString: sqlite3_column_text(statement, column))
                default: row[name] = .some(nil)
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// The first column of the first row of `sql`.
    func value(_ sql: String) throws -> (any Sendable)? {
        try rows(sql).first?.values.first ?? nil
    }

    /// Runs statements that return nothing.
    func execute(_ sql: String) throws {
        try #require(sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK, "\(sql)")
    }
}
