import CSQLite
import Foundation
import PluginSupport
import SensorPluginAPI

/// One SQLite sink instance: a connection in WAL mode and the prepared statements of one `write_batch`.
///
/// The host calls an instance from one thread only (create, write_batch, flush, destroy), so it holds no locks.
final class SQLiteSinkInstance: SinkInstance {
    private let host: UnsafePointer<sensor_host_api>
    private let connection: SQLiteConnection
    private let statements: Statements
    private let connectionFields: FieldNameIndex
    private let sessionFields: FieldNameIndex
    /// Scratch space for the RFC 3339 `recorded_at` text of the event being written.
    private let timestamp = UnsafeMutablePointer<CChar>.allocate(capacity: 32)

    private struct Statements {
        let begin: OpaquePointer
        let commit: OpaquePointer
        let rollback: OpaquePointer
        let insertConnection: OpaquePointer
        let closeSession: OpaquePointer
        let insertOther: OpaquePointer

        var all: [OpaquePointer] { [begin, commit, rollback, insertConnection, closeSession, insertOther] }
    }

    /// Parameters of `insertConnection`: the envelope, then one per field column, then `event_json`.
    private static let firstFieldParameter: Int32 = Int32(SQLiteSchema.envelopeColumns.count) + 1
    private static var eventJSONParameter: Int32 { firstFieldParameter + Int32(SQLiteSchema.fieldColumns.count) }
    /// '', in static memory (bound without a copy).
    private static var emptyText: sensor_str {
        let empty: StaticString = ""
        return sensor_str(ptr: UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self), len: 0)
    }

    /// Opens the database, migrates it and prepares the statements; logs why through `host` and returns the
    /// status for `create()` on failure.
    static func make(host: UnsafePointer<sensor_host_api>, config: sensor_str) -> Result<SQLiteSinkInstance, Status> {
        let log = HostLog(host: host)
        let settings: SQLiteSinkSettings
        switch SQLiteSinkSettings.parse(UnsafeRawBufferPointer(start: config.ptr, count: config.len)) {
        case .success(let parsed):
            settings = parsed
        case .failure(let error):
            log.write(SENSOR_LOG_ERROR, "sqlite sink: invalid configuration: \(error.message)")
            return .failure(Status(SENSOR_BAD_CONFIG))
        }
        let connection: SQLiteConnection
        do {
            connection = try SQLiteConnection(path: settings.path)
        } catch {
            log.write(SENSOR_LOG_ERROR, "sqlite sink: cannot open database \(settings.path): \(error.message)")
            return .failure(Status(SENSOR_BAD_CONFIG))
        }
        sqlite3_busy_timeout(connection.handle, settings.busyTimeoutMilliseconds)
        do {
            // Larger pages and a 64 MiB cache roughly double insert throughput for these ~1.5 KB rows; the page
            // size only takes effect on a new, empty database (it must precede the switch to WAL).
            try connection.execute("PRAGMA page_size = 16384")
            try connection.execute("PRAGMA cache_size = -65536")
            let journal = try connection.text("PRAGMA journal_mode = WAL")
            if journal?.lowercased() != "wal" {
                log.write(SENSOR_LOG_WARN, "sqlite sink: WAL mode unavailable for \(settings.path) (\(journal ?? "?"))")
            }
            try connection.execute("PRAGMA synchronous = \(settings.synchronous)")
            // Checkpoint every 8192 pages (128 MiB at 16 KiB) instead of SQLite's 1000: every event touches a
            // random page of the event-id index, and a checkpoint writes each changed page once, so rarer
            // checkpoints mean far fewer page writes and fsyncs (+20-25 % events/s in kaspa-bench, figure 3a).
            // journal_size_limit trims the WAL file back to that size after a checkpoint.
            try connection.execute("PRAGMA wal_autocheckpoint = 8192")
            try connection.execute("PRAGMA journal_size_limit = 134217728")
        } catch {
            log.write(SENSOR_LOG_ERROR, "sqlite sink: cannot configure \(settings.path): \(error.message)")
            return .failure(Status(error.status == SENSOR_RETRY ? SENSOR_FATAL : error.status))
        }
        if let status = SQLiteMigrator(connection: connection, log: log, path: settings.path).migrate() {
            return .failure(Status(status))
        }
        do {
            let instance = try SQLiteSinkInstance(host: host, connection: connection)
            log.write(SENSOR_LOG_INFO, "sqlite sink: writing to \(settings.path)")
            return .success(instance)
        } catch {
            log.write(SENSOR_LOG_ERROR, "sqlite sink: cannot prepare statements: \(error.message)")
            return .failure(Status(SENSOR_FATAL))
        }
    }

    private init(host: UnsafePointer<sensor_host_api>, connection: SQLiteConnection) throws(SQLiteError) {
        self.host = host
        self.connection = connection
        let fieldColumns = SQLiteSchema.fieldColumns.map(\.name)
        let columns = SQLiteSchema.envelopeColumns + fieldColumns + ["event_json"]
        let placeholders = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
        statements = Statements(
            begin: try connection.prepare("BEGIN IMMEDIATE"),
            commit: try connection.prepare("COMMIT"),
            rollback: try connection.prepare("ROLLBACK"),
            insertConnection: try connection.prepare(
                "INSERT OR IGNORE INTO connection_events (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
            ),
            closeSession: try connection.prepare(
                """
                UPDATE connection_events SET session_duration_ms = coalesce(?1, session_duration_ms), \
                disconnect_reason = coalesce(?2, disconnect_reason), \
                messages_received = coalesce(?3, messages_received), \
                pings_answered = coalesce(?4, pings_answered), session_open = 0 WHERE event_id = ?5
                """
            ),
            insertOther: try connection.prepare(
                """
                INSERT OR IGNORE INTO other_events (event_id, kind, sensor_id, recorded_at_us, event_json) \
                VALUES (?1, ?2, ?3, ?4, ?5)
                """
            )
        )
        connectionFields = FieldNameIndex(
            fieldColumns.enumerated().map { ($1, Self.firstFieldParameter + Int32($0)) }
        )
        // ?1…?4 in the order of `EventColumns.sessionUpdates`, then the connection's event id.
        sessionFields = FieldNameIndex(
            (EventColumns.sessionUpdates + [EventColumns.sessionConnectionField]).enumerated().map {
                ($1, Int32($0) + 1)
            })
    }

    deinit {
        for statement in statements.all {
            sqlite3_finalize(statement)
        }
        timestamp.deallocate()
    }

    /// Writes a batch in one transaction. Returns a `SENSOR_*` status.
    func write(_ events: UnsafePointer<UnsafePointer<sensor_event>?>, count: Int) -> Int32 {
        do {
            try run(statements.begin)
            for index in 0..<count {
                if let event = events[index] {
                    try write(event)
                }
            }
            try run(statements.commit)
            return SENSOR_OK
        } catch {
            if sqlite3_get_autocommit(connection.handle) == 0 {
                _ = sqlite3_step(statements.rollback)
                sqlite3_reset(statements.rollback)
            }
            let status = error.batchStatus
            let level = status == SENSOR_RETRY ? SENSOR_LOG_WARN : SENSOR_LOG_ERROR
            let fate = status == SENSOR_RETRY ? "; the host retries it" : ""
            HostLog(host: host).write(
                level, "sqlite sink: batch of \(count) events not written (code \(error.code)): \(error.message)\(fate)"
            )
            return status
        }
    }

    /// Checkpoints the WAL without waiting for readers (`PRAGMA wal_checkpoint(PASSIVE)`).
    func flush() -> Int32 {
        let result = sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        guard result == SQLITE_OK || result & 0xff == SQLITE_BUSY else {
            HostLog(host: host).write(
                SENSOR_LOG_ERROR, "sqlite sink: checkpoint failed: \(connection.error(result).message)")
            return SENSOR_ERROR
        }
        return SENSOR_OK
    }

    private func write(_ pointer: UnsafePointer<sensor_event>) throws(SQLiteError) {
        let event = pointer.pointee
        if event.kind.equals("connection") {
            let statement = statements.insertConnection
            sqlite3_clear_bindings(statement)
            bindText(event.event_id, statement, 1)
            sqlite3_bind_int64(statement, 2, Int64(bitPattern: event.sequence))
            bindText(event.kind, statement, 3)
            bindText(event.sensor_id, statement, 4)
            sqlite3_bind_int64(statement, 5, Int64(event.schema_version))
            let length = RFC3339Formatter.format(unixMicros: event.time_unix_micros, into: timestamp)
            sqlite3_bind_text(statement, 6, timestamp, length, nil)
            sqlite3_bind_int64(statement, 7, event.time_unix_micros)
            var hasFieldWithoutColumn = false
            for index in 0..<event.field_count {
                let field = event.fields[index]
                if let parameter = connectionFields.parameter(for: field.name) {
                    bind(field, statement, parameter)
                } else {
                    hasFieldWithoutColumn = true
                }
            }
            // Every field has its column: no JSON copy, '' (schema 2). A field this schema has no column for (from
            // a newer host) is kept in the row's event_json instead of being lost.
            let json = hasFieldWithoutColumn ? sensor_event_json(host, pointer) : Self.emptyText
            bindText(json, statement, Self.eventJSONParameter)
            try run(statement)
        } else if event.kind.equals("session_closed") {
            let statement = statements.closeSession
            sqlite3_clear_bindings(statement)
            for index in 0..<event.field_count {
                let field = event.fields[index]
                if let parameter = sessionFields.parameter(for: field.name) {
                    bind(field, statement, parameter)
                }
            }
            try run(statement)
            if sqlite3_changes(connection.handle) == 0 {
                // The connection event never arrived (dropped upstream): keep the data instead of losing it.
                try writeOther(pointer)
            }
        } else {
            try writeOther(pointer)
        }
    }

    private func writeOther(_ pointer: UnsafePointer<sensor_event>) throws(SQLiteError) {
        let event = pointer.pointee
        let statement = statements.insertOther
        bindText(event.event_id, statement, 1)
        bindText(event.kind, statement, 2)
        bindText(event.sensor_id, statement, 3)
        sqlite3_bind_int64(statement, 4, event.time_unix_micros)
        // The host builds it on request (SENSOR_PLUGIN_JSON_ON_REQUEST); a 1.0 host fills it in anyway.
        let json = sensor_event_json(host, pointer)
        // other_events.event_json is NOT NULL; only a broken host would leave nothing here.
        bindText(json.ptr == nil ? Self.emptyText : json, statement, 5)
        try run(statement)
    }

    /// Steps a statement that returns no rows, then resets it.
    private func run(_ statement: OpaquePointer) throws(SQLiteError) {
        let result = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard result == SQLITE_DONE else { throw connection.error(result) }
    }

    private func bind(_ field: sensor_field, _ statement: OpaquePointer, _ parameter: Int32) {
        switch field.type {
        case SENSOR_FIELD_INT, SENSOR_FIELD_BOOL:
            sqlite3_bind_int64(statement, parameter, field.int_value)
        case SENSOR_FIELD_FLOAT:
            sqlite3_bind_double(statement, parameter, field.float_value)
        case SENSOR_FIELD_TEXT:
            bindText(field.text_value, statement, parameter)
        default:
            sqlite3_bind_null(statement, parameter)
        }
    }

    /// Binds host-owned text without copying: it stays valid for the whole write_batch call, and the statement
    /// is stepped and reset within it.
    private func bindText(_ text: sensor_str, _ statement: OpaquePointer, _ parameter: Int32) {
        guard let pointer = text.ptr else {
            sqlite3_bind_null(statement, parameter)
            return
        }
        sqlite3_bind_text(statement, parameter, pointer, Int32(clamping: text.len), nil)
    }
}
