import CPostgres
import Foundation

/// One libpq connection, used from the instance's one host thread only (libpq connections are not thread-safe,
/// and the host never calls an instance from two threads).
///
/// Every call blocks: the server's `statement_timeout`, libpq's `connect_timeout` and TCP keepalives bound how
/// long. Errors carry the server's SQLSTATE, from which ``PostgresError/isTransient`` decides RETRY or ERROR.
final class PostgresConnection {
    private let handle: OpaquePointer

    /// Connects with `parameters` (keyword, value; a first `dbname` may be a URI or a connection string).
    /// Notices (e.g. "relation already exists, skipping") go to `notices` instead of libpq's default, stderr.
    init(parameters: [(String, String)], notices: NoticeSink) throws(PostgresError) {
        var keywords = parameters.map { strdup($0.0) }
        var values = parameters.map { strdup($0.1) }
        defer {
            (keywords + values).forEach { free($0) }
        }
        keywords.append(nil)
        values.append(nil)
        let connection = keywords.withUnsafeBufferPointer { keywordPointers in
            values.withUnsafeBufferPointer { valuePointers in
                keywordPointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { keywordPointers in
                    valuePointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { valuePointers in
                        PQconnectdbParams(keywordPointers.baseAddress, valuePointers.baseAddress, 1)
                    }
                }
            }
        }
        guard let connection else { throw PostgresError(sqlState: nil, message: "out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.text(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(sqlState: nil, message: message)
        }
        handle = connection
        PQsetNoticeProcessor(
            connection,
            { context, message in
                guard let context, let message else { return }
                Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue().receive(String(cString: message))
            }, Unmanaged.passUnretained(notices).toOpaque())
        self.notices = notices
    }

    /// Kept alive for the notice processor, which points at it.
    private let notices: NoticeSink

    deinit {
        PQfinish(handle)
    }

    /// Whether the connection is still usable (libpq marks it bad once the socket failed).
    var isUsable: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The server's host and port, for log lines (never the URL, which may hold a password).
    var serverDescription: String {
        let host = PQhost(handle).map { String(cString: $0) } ?? "?"
        let port = PQport(handle).map { String(cString: $0) } ?? "?"
        let database = PQdb(handle).map { String(cString: $0) } ?? "?"
        return host.hasPrefix("/")
            ? "database \(database) on socket \(host) port \(port)"
            : "database \(database) on \(host):\(port)"
    }

    /// Runs statements that return nothing useful (or rows to ignore); returns the affected row count of the last.
    @discardableResult
    func execute(_ sql: String) throws(PostgresError) -> Int {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
        return Int(Self.text(PQcmdTuples(result))) ?? 0
    }

    /// Runs a query and returns its rows, every value as text (`nil` for NULL).
    func rows(_ sql: String) throws(PostgresError) -> [[String?]] {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, expecting: [PGRES_TUPLES_OK])
        return (0..<PQntuples(result)).map { row in
            (0..<PQnfields(result)).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            }
        }
    }

    /// `COPY … FROM STDIN` with `data` in COPY's text format; returns the rows copied.
    @discardableResult
    func copy(_ sql: String, data: [UInt8]) throws(PostgresError) -> Int {
        let start = PQexec(handle, sql)
        defer { PQclear(start) }
        try check(start, expecting: [PGRES_COPY_IN])
        let sent = data.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                // libpq splits large buffers itself; Int32 bounds one call, so send in chunks of 64 MiB.
                var offset = 0
                while offset < text.count {
                    let count = min(text.count - offset, 64 << 20)
                    guard PQputCopyData(handle, text.baseAddress! + offset, Int32(count)) == 1 else { return false }
                    offset += count
                }
                return true
            }
        }
        let ended = PQputCopyEnd(handle, sent ? nil : "the sink could not send its data") == 1
        var copied = 0
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            if failure == nil {
                do throws(PostgresError) {
                    try check(result, expecting: [PGRES_COMMAND_OK])
                    copied = Int(Self.text(PQcmdTuples(result))) ?? 0
                } catch {
                    failure = error
                }
            }
            PQclear(result)
        }
        if let failure { throw failure }
        guard sent && ended else { throw PostgresError(sqlState: nil, message: Self.text(PQerrorMessage(handle))) }
        return copied
    }

    private func check(_ result: OpaquePointer?, expecting: [ExecStatusType]) throws(PostgresError) {
        guard let result else {
            throw PostgresError(sqlState: nil, message: Self.text(PQerrorMessage(handle)))
        }
        let status = PQresultStatus(result)
        guard !expecting.contains(status) else { return }
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        var message = Self.text(PQresultErrorMessage(result))
        if message.isEmpty { message = "unexpected result \(String(cString: PQresStatus(status)))" }
        throw PostgresError(sqlState: sqlState, message: message)
    }

    private static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        pointer.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    }
}

/// Where a connection's server notices go (the instance's host log, at debug level).
final class NoticeSink {
    private let body: (String) -> Void

    init(_ body: @escaping (String) -> Void) {
        self.body = body
    }

    func receive(_ message: String) {
        body(message.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// A failed libpq call: the server's SQLSTATE (none for a connection failure) and message.
struct PostgresError: Error {
    /// The five-character SQLSTATE, or `nil` when the server never answered.
    let sqlState: String?
    /// libpq's or the server's message.
    let message: String

    /// Whether the same batch may succeed later: the server was unreachable, restarting, out of space or
    /// resources, cancelled the statement (timeout), or the transaction lost a serialization or deadlock race.
    /// A constraint, type or syntax error is not: it fails again the same way.
    var isTransient: Bool {
        guard let sqlState else { return true }
        switch sqlState.prefix(2) {
        // connection exception, transaction rollback (serialization, deadlock), insufficient resources (disk full,
        // out of memory, too many connections), operator intervention (shutdown, cancel, timeout), system error
        // (I/O), internal error.
        case "08", "40", "53", "57", "58", "XX": return true
        // lock not available, object in use, idle-in-transaction timeout
        default: return ["55P03", "55006", "25P03"].contains(sqlState)
        }
    }

    /// Whether the table or column the sink writes is missing (someone dropped it): the schema is checked again.
    var isMissingSchema: Bool { sqlState == "42P01" || sqlState == "42703" }

    /// The state and message, for log lines.
    var description: String { sqlState.map { "\($0): \(message)" } ?? message }
}
