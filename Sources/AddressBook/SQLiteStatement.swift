import CSQLite

/// A value bound to or read from SQLite.
public enum SQLiteValue: Sendable, Hashable {
    /// NULL.
    case null
    /// An integer.
    case integer(Int64)
    /// A floating-point number.
    case real(Double)
    /// Text.
    case text(String)

    /// `.integer`, or `.null` for `nil`.
    public static func int(_ value: Int?) -> SQLiteValue { value.map { .integer(Int64($0)) } ?? .null }
    /// `.text`, or `.null` for `nil`.
    public static func string(_ value: String?) -> SQLiteValue { value.map(SQLiteValue.text) ?? .null }
}

/// One result row, its columns by position.
public struct SQLiteRow: Sendable, Hashable {
    /// The columns.
    public var values: [SQLiteValue]

    /// The column as text (numbers are formatted), or `nil` for NULL.
    public func text(_ column: Int) -> String? {
        switch values[column] {
        case .null: return nil
        case .integer(let number): return String(number)
        case .real(let number): return String(number)
        case .text(let text): return text
        }
    }

    /// The column as an integer, or `nil` for NULL or text.
    public func integer(_ column: Int) -> Int? {
        switch values[column] {
        case .integer(let number): return Int(number)
        case .real(let number): return Int(number)
        default: return nil
        }
    }

    /// The column as a number, or `nil` for NULL or text.
    public func real(_ column: Int) -> Double? {
        switch values[column] {
        case .integer(let number): return Double(number)
        case .real(let number): return number
        default: return nil
        }
    }
}

/// A prepared statement; reset and rebound for every use.
public final class SQLiteStatement {
    private let statement: OpaquePointer
    private let database: SQLiteDatabase

    init(_ statement: OpaquePointer, database: SQLiteDatabase) {
        self.statement = statement
        self.database = database
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// Resets the statement and binds `values` to `?1`, `?2`, ….
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(statement, position)
            case .integer(let number): status = sqlite3_bind_int64(statement, position, number)
            case .real(let number): status = sqlite3_bind_double(statement, position, number)
            case .text(let text): status = sqlite3_bind_text(statement, position, text, -1, transient)
            }
            guard status == SQLITE_OK else { throw SQLiteError(path: database.path, message: database.lastError) }
        }
    }

    /// Binds `values` and runs the statement to completion, ignoring rows.
    public func run(_ values: [SQLiteValue]) throws(SQLiteError) {
        try bind(values)
        _ = try rows()
    }

    /// Steps through every row.
    public func rows() throws(SQLiteError) -> [SQLiteRow] {
        var rows: [SQLiteRow] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                rows.append(SQLiteRow(values: (0..<sqlite3_column_count(statement)).map(column)))
            case SQLITE_DONE:
                return rows
            default:
                throw SQLiteError(path: database.path, message: database.lastError)
            }
        }
    }

    private func column(_ index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_NULL: return .null
        default: return .text(sqlite3_column_text(statement, index).map { String(cString: $0) } ?? "")
        }
    }
}
