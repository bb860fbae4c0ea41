import CPostgres
import Foundation
import PluginSupport
import SensorPluginAPI

/// One PostgreSQL sink instance: a connection (made again whenever it breaks) and the rows of one host batch.
///
/// A batch is one transaction: its events are copied into the session's staging tables and moved from there with
/// `ON CONFLICT (event_id) DO NOTHING`, so a batch the host delivers again (after a RETRY, or a crash before the
/// host saw the answer) adds nothing twice; `session_closed` events then update their connection's row. The batch
/// is acknowledged only after the server answered COMMIT. What can pass (no server, a restart, a full disk, a
/// timeout, a serialization failure) answers RETRY and the batch waits in the host's journal; an event the server
/// refuses for its content is isolated (each event in a savepoint) and only that one goes to the host's dead
/// letters.
///
/// The host calls an instance from one thread only, so it holds no locks.
final class PostgresSinkInstance: SinkInstance {
    private let host: UnsafePointer<sensor_host_api>
    private let log: HostLog
    private let settings: PostgresSinkSettings
    private let schema: PostgresSchema
    private let parameters: [(String, String)]
    private let notices: NoticeSink
    private var connection: PostgresConnection?
    /// Whether this process checked the schema (and migrated it) on some connection already.
    private var schemaReady = false
    private var failedConnects = 0
    /// Whether create() has returned (a newer schema found later makes the instance unusable, not the config bad).
    private var started = false

    /// `EventColumns.all` by field name: the parameter is the column's index.
    private let fieldColumns = FieldNameIndex(EventColumns.all.enumerated().map { ($1.name, Int32($0)) })
    /// The `session_closed` fields staged for the update: the connection's event id, then `sessionUpdates`.
    private let sessionFields = FieldNameIndex(
        ([EventColumns.sessionConnectionField] + EventColumns.sessionUpdates).enumerated().map { ($1, Int32($0)) })
    private static let fieldKinds = EventColumns.all.map(\.kind)
    private static let sessionKinds: [EventColumns.Kind] = [.text, .real, .text, .integer, .integer]

    private var connectionRows = CopyRows()
    private var otherRows = CopyRows()
    private var sessionRows = CopyRows()
    /// For the event being staged: the index of the field that fills each column, or -1.
    private var fieldForColumn: [Int]
    private var fieldForSessionColumn = [Int](repeating: -1, count: 5)
    /// Scratch space for the RFC 3339 `recorded_at` text of the event being staged.
    private let timestamp = UnsafeMutablePointer<CChar>.allocate(capacity: 32)

    /// Parses the configuration and tries to connect (and migrate) once. A server that cannot be reached now is
    /// not an error: the sink starts, and the events wait in the host's journal until it can be.
    static func make(host: UnsafePointer<sensor_host_api>, config: sensor_str) -> Result<PostgresSinkInstance, Status> {
        let log = HostLog(host: host)
        let settings: PostgresSinkSettings
        switch PostgresSinkSettings.parse(config.bytes) {
        case .success(let parsed): settings = parsed
        case .failure(let error):
            log.write(SENSOR_LOG_ERROR, "postgres sink: invalid configuration: \(error.message)")
            return .failure(Status(SENSOR_BAD_CONFIG))
        }
        for warning in settings.warnings {
            log.write(SENSOR_LOG_WARN, "postgres sink: \(warning)")
        }
        let instance = PostgresSinkInstance(host: host, settings: settings)
        switch instance.connect() {
        case .ready(let connection):
            log.write(
                SENSOR_LOG_INFO,
                "postgres sink: writing to \(connection.serverDescription), tables \(instance.schema.connectionEvents) "
                    + "and \(instance.schema.otherEvents)")
        case .unavailable(let error):
            log.write(
                SENSOR_LOG_WARN,
                "postgres sink: cannot reach the server now (\(error.description)); events wait in the journal and "
                    + "the sink connects when it can")
        case .unusable(let status):
            return .failure(Status(status))
        }
        instance.started = true
        return .success(instance)
    }

    private init(host: UnsafePointer<sensor_host_api>, settings: PostgresSinkSettings) {
        self.host = host
        self.log = HostLog(host: host)
        self.settings = settings
        self.schema = PostgresSchema(prefix: settings.tablePrefix)
        let sensorID = String(decoding: host.pointee.sensor_id.bytes, as: UTF8.self)
        self.parameters = settings.connectionParameters(sensorID: sensorID)
        let log = self.log
        self.notices = NoticeSink { log.write(SENSOR_LOG_DEBUG, "postgres sink: server notice: \($0)") }
        self.fieldForColumn = [Int](repeating: -1, count: EventColumns.all.count)
    }

    deinit {
        timestamp.deallocate()
    }

    // MARK: write_batch

    /// Writes a batch in one transaction. Returns a `SENSOR_*` status.
    func write(_ events: UnsafePointer<UnsafePointer<sensor_event>?>, count: Int) -> Int32 {
        let batch = (0..<count).compactMap { events[$0] }
        let connection: PostgresConnection
        switch connect() {
        case .ready(let ready): connection = ready
        case .unavailable: return SENSOR_RETRY
        case .unusable(let status): return status
        }
        do {
            // First straight into the table: a batch the store has never seen (the usual case) then costs one COPY
            // and no second pass. One it has seen in part (a replay) fails on the primary key and goes through the
            // staging tables, which skip what is there.
            var written: (staged: Int, stored: UInt64)
            do {
                try connection.execute("BEGIN")
                written = try apply(batch, on: connection, direct: true)
            } catch let error where error.sqlState == "23505" {
                try connection.execute("ROLLBACK")
                try connection.execute("BEGIN")
                written = try apply(batch, on: connection, direct: false)
            }
            try connection.execute("COMMIT")
            addCounter("events_written", written.stored)
            addCounter("duplicates_skipped", UInt64(written.staged) - written.stored)
            return SENSOR_OK
        } catch {
            rollBack(connection)
            if error.isTransient || !connection.isUsable || error.isMissingSchema {
                return retry(error, batch: batch.count)
            }
            log.write(
                SENSOR_LOG_WARN,
                "postgres sink: the server refused a batch of \(batch.count) events (\(error.description)); "
                    + "writing them one by one to set aside only what it refuses")
            return isolate(batch, on: connection)
        }
    }

    /// Writes what the server accepts of `batch`, each event in a savepoint, and hands the others to the host's
    /// dead letters with the server's reason.
    private func isolate(_ batch: [UnsafePointer<sensor_event>], on connection: PostgresConnection) -> Int32 {
        let rejectEnd =
            MemoryLayout<sensor_host_api>.offset(of: \sensor_host_api.reject_event)! + MemoryLayout<Int>.size
        guard Int(host.pointee.struct_size) >= rejectEnd, host.pointee.reject_event != nil else {
            return SENSOR_ERROR  // an older host keeps no dead letters per event: it sets the whole batch aside
        }
        var stored: UInt64 = 0
        var refused: [(UnsafePointer<sensor_event>, PostgresError)] = []
        do {
            try connection.execute("BEGIN")
            for event in batch {
                try connection.execute("SAVEPOINT event")
                do {
                    stored += try apply([event], on: connection, direct: false).stored
                    try connection.execute(
                        "RELEASE SAVEPOINT event; TRUNCATE staged_connections, staged_others, staged_sessions")
                } catch let error where !error.isTransient && connection.isUsable && !error.isMissingSchema {
                    try connection.execute("ROLLBACK TO SAVEPOINT event")
                    refused.append((event, error))
                }
            }
            try connection.execute("COMMIT")
        } catch {
            rollBack(connection)
            return retry(error, batch: batch.count)
        }
        for (event, error) in refused {
            var reason = "postgres: " + error.description
            reason.withUTF8 { text in
                text.withMemoryRebound(to: CChar.self) {
                    _ = sensor_host_reject_event(host, event, 0, $0.baseAddress, $0.count)
                }
            }
        }
        addCounter("events_written", stored)
        addCounter("events_refused", UInt64(refused.count))
        return SENSOR_OK
    }

    /// Stages `events` and moves them into the store, inside the caller's transaction. Returns how many rows it
    /// staged and how many were new. `direct`: connection events are copied into their table itself, which fails
    /// (23505) if one of them is there already.
    private func apply(
        _ events: [UnsafePointer<sensor_event>], on connection: PostgresConnection, direct: Bool
    ) throws(PostgresError) -> (staged: Int, stored: UInt64) {
        stage(events)
        var stored = 0
        if connectionRows.count > 0 && direct {
            stored += try connection.copy(
                "COPY \(schema.connectionEvents) (\(PostgresSchema.copyColumnList)) FROM STDIN",
                data: connectionRows.bytes)
        } else if connectionRows.count > 0 {
            try connection.copy(
                "COPY staged_connections (\(PostgresSchema.copyColumnList)) FROM STDIN",
                data: connectionRows.bytes)
            stored += try connection.execute(
                "INSERT INTO \(schema.connectionEvents) SELECT * FROM staged_connections ON CONFLICT (event_id) "
                    + "DO NOTHING")
        }
        if otherRows.count > 0 {
            try copyOthers(connection)
            stored += try moveOthers(connection)
        }
        if sessionRows.count > 0 {
            try connection.copy("COPY staged_sessions FROM STDIN", data: sessionRows.bytes)
            let updates = EventColumns.sessionUpdates.map { "\($0) = coalesce(s.\($0), c.\($0))" }
            try connection.execute(
                "UPDATE \(schema.connectionEvents) AS c SET \(updates.joined(separator: ", ")), session_open = false "
                    + "FROM staged_sessions s WHERE c.event_id = s.connection_event_id")
            stored += sessionRows.count
            // A session_closed whose connection event never reached the store keeps its data as an other event.
            let orphans = try connection.rows(
                "SELECT event_id FROM staged_sessions s WHERE NOT EXISTS (SELECT 1 FROM \(schema.connectionEvents) "
                    + "c WHERE c.event_id = s.connection_event_id)")
            if !orphans.isEmpty {
                let ids = Set(orphans.compactMap { $0.first ?? nil })
                otherRows.removeAll()
                for event in events where ids.contains(String(decoding: event.pointee.event_id.bytes, as: UTF8.self)) {
                    stageOther(event)
                }
                try copyOthers(connection)
                _ = try moveOthers(connection)
            }
        }
        return (connectionRows.count + otherRows.count + sessionRows.count, UInt64(stored))
    }

    private func copyOthers(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.copy(
            "COPY staged_others (event_id, kind, sensor_id, recorded_at_us, event_json) FROM STDIN",
            data: otherRows.bytes)
    }

    private func moveOthers(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        try connection.execute(
            "INSERT INTO \(schema.otherEvents) SELECT * FROM staged_others ON CONFLICT (event_id) DO NOTHING")
    }

    // MARK: staging

    /// Encodes `events` as COPY rows: connection events, session_closed updates and every other kind.
    private func stage(_ events: [UnsafePointer<sensor_event>]) {
        connectionRows.removeAll()
        otherRows.removeAll()
        sessionRows.removeAll()
        for pointer in events {
            let kind = pointer.pointee.kind
            if kind.equals("connection") {
                stageConnection(pointer)
            } else if kind.equals("session_closed") {
                stageSession(pointer.pointee)
            } else {
                stageOther(pointer)
            }
        }
    }

    private func stageConnection(_ pointer: UnsafePointer<sensor_event>) {
        let event = pointer.pointee
        let hasFieldWithoutColumn = !Self.locate(event, in: fieldColumns, into: &fieldForColumn)
        connectionRows.text(event.event_id.bytes)
        connectionRows.integer(Int64(bitPattern: event.sequence))
        connectionRows.text(event.kind.bytes)
        connectionRows.text(event.sensor_id.bytes)
        connectionRows.integer(Int64(event.schema_version))
        let length = RFC3339Formatter.format(unixMicros: event.time_unix_micros, into: timestamp)
        connectionRows.text(UnsafeRawBufferPointer(start: timestamp, count: Int(length)))
        connectionRows.integer(event.time_unix_micros)
        connectionRows.columns(event, fieldForColumn, kinds: Self.fieldKinds)
        // Every field has its column: no JSON copy. A field without one (from a newer host) keeps the event's
        // JSON in the row instead of being lost.
        let json = hasFieldWithoutColumn ? sensor_event_json(host, pointer) : sensor_str(ptr: nil, len: 0)
        connectionRows.text(json.bytes)
        connectionRows.endRow()
    }

    private func stageSession(_ event: sensor_event) {
        _ = Self.locate(event, in: sessionFields, into: &fieldForSessionColumn)
        sessionRows.text(event.event_id.bytes)
        sessionRows.text(event.kind.bytes)
        sessionRows.text(event.sensor_id.bytes)
        sessionRows.integer(event.time_unix_micros)
        sessionRows.columns(event, fieldForSessionColumn, kinds: Self.sessionKinds)
        sessionRows.endRow()
    }

    /// Fills `fieldForColumn` with the index of the field that fills each column of `columns` (-1 for none);
    /// returns whether every field of the event had a column.
    private static func locate(
        _ event: sensor_event, in columns: FieldNameIndex, into fieldForColumn: inout [Int]
    ) -> Bool {
        for index in fieldForColumn.indices { fieldForColumn[index] = -1 }
        var everyField = true
        for index in 0..<event.field_count {
            if let column = columns.parameter(for: event.fields[index].name) {
                fieldForColumn[Int(column)] = index
            } else {
                everyField = false
            }
        }
        return everyField
    }

    private func stageOther(_ pointer: UnsafePointer<sensor_event>) {
        let event = pointer.pointee
        otherRows.text(event.event_id.bytes)
        otherRows.text(event.kind.bytes)
        otherRows.text(event.sensor_id.bytes)
        otherRows.integer(event.time_unix_micros)
        otherRows.text(sensor_event_json(host, pointer).bytes)
        otherRows.endRow()
    }

    // MARK: connection

    private enum Connected {
        case ready(PostgresConnection)
        /// The server cannot be reached or refused the session: try again with the next batch.
        case unavailable(PostgresError)
        /// The sink cannot work with this database (a newer schema): a status for the host.
        case unusable(Int32)
    }

    /// The open connection, or a new one (set up: statement timeout, schema, staging tables).
    private func connect() -> Connected {
        if let connection, connection.isUsable { return .ready(connection) }
        connection = nil
        let fresh: PostgresConnection
        do {
            fresh = try PostgresConnection(parameters: parameters, notices: notices)
            try fresh.execute("SET statement_timeout = \(settings.statementTimeoutMilliseconds)")
            if !schemaReady {
                let (from, to) = try schema.migrate(fresh)
                if from != to {
                    log.write(
                        SENSOR_LOG_INFO, "postgres sink: schema version \(from) → \(to) (\(schema.migrationsTable))")
                }
                schemaReady = true
            }
            for statement in schema.stagingStatements {
                try fresh.execute(statement)
            }
        } catch SchemaError.newer(let version) {
            log.write(
                SENSOR_LOG_ERROR,
                "postgres sink: \(schema.migrationsTable) records schema version \(version), newer than the "
                    + "\(schema.latestVersion) this plugin knows: use a newer plugin or another table_prefix")
            return .unusable(started ? SENSOR_FATAL : SENSOR_BAD_CONFIG)
        } catch {
            failedConnects += 1
            let failure =
                (error as? PostgresError) ?? (error as? SchemaError)?.cause
                ?? PostgresError(sqlState: nil, message: "\(error)")
            if failedConnects == 1 || failedConnects.isMultiple(of: 20) {
                log.write(
                    SENSOR_LOG_WARN,
                    "postgres sink: cannot connect (attempt \(failedConnects)): \(failure.description)")
            }
            return .unavailable(failure)
        }
        if failedConnects > 0 {
            log.write(
                SENSOR_LOG_INFO,
                "postgres sink: connected to \(fresh.serverDescription) after \(failedConnects) failed attempts")
            failedConnects = 0
            addCounter("reconnects", 1)
        }
        connection = fresh
        return .ready(fresh)
    }

    private func rollBack(_ connection: PostgresConnection) {
        if connection.isUsable { _ = try? connection.execute("ROLLBACK") }
        if !connection.isUsable { self.connection = nil }
    }

    private func retry(_ error: PostgresError, batch: Int) -> Int32 {
        if error.isMissingSchema { schemaReady = false; connection = nil }
        log.write(
            SENSOR_LOG_WARN,
            "postgres sink: batch of \(batch) events not written (\(error.description)); the host retries it")
        return SENSOR_RETRY
    }

    private func addCounter(_ name: StaticString, _ delta: UInt64) {
        guard delta > 0, let add = host.pointee.add_counter else { return }
        name.withUTF8Buffer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { add(host.pointee.host_context, $0.baseAddress, $0.count, delta) }
        }
    }
}

extension SchemaError {
    /// The statement failure behind a `failed`.
    var cause: PostgresError? {
        if case .failed(let error) = self { error } else { nil }
    }
}
