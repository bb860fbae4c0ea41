import PluginSupport

/// The store's tables and their migrations, recorded in `<prefix>schema_migrations` (one row per applied
/// version). The column names are SQLiteSink's (``PluginSupport/EventColumns``), so one report query reads either
/// store; the types are PostgreSQL's (`timestamptz`, `boolean`, `double precision`).
///
/// Migrations run in one transaction under an advisory lock, so sensors of a fleet starting together against an
/// empty database create it once. Append only: a released migration is never edited.
struct PostgresSchema {
    /// One version: what it adds.
    struct Migration {
        let version: Int
        let description: String
        let statements: [String]
    }

    /// The table and index name prefix (validated: lowercase letters, digits and underscores).
    let prefix: String

    var connectionEvents: String { prefix + "connection_events" }
    var otherEvents: String { prefix + "other_events" }
    var migrationsTable: String { prefix + "schema_migrations" }

    /// The envelope columns of `connection_events`, before the field columns, with their types.
    static let envelope: [(name: String, type: String)] = [
        ("event_id", "text PRIMARY KEY"), ("sequence", "bigint NOT NULL"), ("kind", "text NOT NULL"),
        ("sensor_id", "text NOT NULL"), ("schema_version", "integer NOT NULL"),
        ("recorded_at", "timestamptz NOT NULL"), ("recorded_at_us", "bigint NOT NULL"),
    ]

    /// Every column the sink writes to `connection_events`, in COPY order (envelope, fields, `event_json`), as the
    /// column list of its COPY statements; built once.
    static let copyColumnList = (envelope.map(\.name) + EventColumns.all.map(\.name) + ["event_json"])
        .joined(separator: ", ")

    /// Every version in order.
    var migrations: [Migration] {
        [
            Migration(
                version: 1,
                description: "connection_events and other_events",
                statements: [
                    """
                    CREATE TABLE \(connectionEvents) (
                        \((Self.envelope.map { "\($0.name) \($0.type)" } + EventColumns.all.map { "\($0.name) \(Self.type(of: $0.kind))" }).joined(separator: ",\n    ")),
                        event_json text NOT NULL DEFAULT ''
                    )
                    """,
                    // What a fleet's queries select by: a time range (Grafana's time filter) for all sensors or
                    // one, and an address. Reports over unique node ids scan the table anyway; every further index
                    // costs each insert (figure 3d).
                    "CREATE INDEX \(connectionEvents)_recorded_at ON \(connectionEvents) (recorded_at)",
                    "CREATE INDEX \(connectionEvents)_sensor_time ON \(connectionEvents) (sensor_id, recorded_at)",
                    "CREATE INDEX \(connectionEvents)_remote_ip ON \(connectionEvents) (remote_ip)",
                    """
                    CREATE TABLE \(otherEvents) (
                        event_id text PRIMARY KEY,
                        kind text NOT NULL,
                        sensor_id text NOT NULL,
                        recorded_at_us bigint NOT NULL,
                        event_json text NOT NULL
                    )
                    """,
                    "CREATE INDEX \(otherEvents)_sensor_time ON \(otherEvents) (sensor_id, recorded_at_us)",
                ]
            )
        ]
    }

    /// The newest version this plugin knows.
    var latestVersion: Int { migrations.last!.version }

    /// The advisory lock taken while migrating: one key per prefix, so stores in one database migrate apart.
    var lockKey: Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ("kaspa-sensor " + prefix).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// Brings the database to ``latestVersion``. Throws ``SchemaError/newer`` for a database a newer plugin made.
    func migrate(_ connection: PostgresConnection) throws(SchemaError) -> (from: Int, to: Int) {
        let current: Int
        do {
            current = try applyMigrations(connection)
        } catch {
            if connection.isUsable { _ = try? connection.execute("ROLLBACK") }
            throw .failed(error)
        }
        guard current <= latestVersion else { throw .newer(current) }
        return (current, latestVersion)
    }

    /// Applies what is missing in one transaction; returns the version the database had (and applies nothing
    /// when that is newer than ``latestVersion``).
    private func applyMigrations(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        try connection.execute("BEGIN")
        try connection.execute("SELECT pg_advisory_xact_lock(\(lockKey))")
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS \(migrationsTable) (
                version integer PRIMARY KEY,
                description text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let found = try connection.rows("SELECT coalesce(max(version), 0) FROM \(migrationsTable)")
        let current = found.first?.first.flatMap { $0.flatMap { Int($0) } } ?? 0
        guard current <= latestVersion else {
            try connection.execute("ROLLBACK")
            return current
        }
        for migration in migrations where migration.version > current {
            for statement in migration.statements {
                try connection.execute(statement)
            }
            try connection.execute(
                "INSERT INTO \(migrationsTable) (version, description) VALUES (\(migration.version), "
                    + "'\(migration.description)')")
        }
        try connection.execute("COMMIT")
        return current
    }

    /// The session's staging tables: COPY goes there, then one statement moves the rows, skipping event ids the
    /// store has (a replay after a RETRY or a crash). Temporary, so every connection has its own.
    var stagingStatements: [String] {
        [
            "CREATE TEMP TABLE IF NOT EXISTS staged_connections (LIKE \(connectionEvents)) ON COMMIT DELETE ROWS",
            "CREATE TEMP TABLE IF NOT EXISTS staged_others (LIKE \(otherEvents)) ON COMMIT DELETE ROWS",
            """
            CREATE TEMP TABLE IF NOT EXISTS staged_sessions (
                event_id text, kind text, sensor_id text, recorded_at_us bigint, connection_event_id text,
                session_duration_ms double precision, disconnect_reason text, messages_received bigint,
                pings_answered bigint
            ) ON COMMIT DELETE ROWS
            """,
        ]
    }

    /// The PostgreSQL type of a shared event column.
    static func type(of kind: EventColumns.Kind) -> String {
        switch kind {
        case .text: "text"
        case .integer: "bigint"
        case .real: "double precision"
        case .boolean: "boolean"
        }
    }
}

/// Why the schema could not be brought up to date.
enum SchemaError: Error {
    /// The database records a version this plugin does not know (a newer plugin migrated it).
    case newer(Int)
    /// A statement failed.
    case failed(PostgresError)
}
