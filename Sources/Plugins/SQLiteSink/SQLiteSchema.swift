import PluginSupport

/// The database layout and its migrations, versioned with `PRAGMA user_version`.
///
/// Migrations are table-driven: version 1 creates the tables; later versions only append field columns
/// (`ALTER TABLE ... ADD COLUMN`) or indexes, or change what is written (version 2: `event_json` only when needed).
/// Never edit an entry once released: add a new one.
enum SQLiteSchema {
    /// One field column of `connection_events`: the event field `name` is stored in the column of the same name.
    struct FieldColumn {
        /// The field and column name.
        let name: String
        /// The SQL column type.
        let type: String
    }

    /// One schema version: the field columns it adds to `connection_events` and any further statements.
    struct Migration {
        /// The `user_version` after this migration.
        let version: Int32
        /// Field columns this version adds to `connection_events`.
        let addedFieldColumns: [FieldColumn]
        /// Further SQL (tables, indexes) of this version.
        let statements: [String]
    }

    /// The envelope columns of `connection_events`, before the field columns.
    static let envelopeColumns = [
        "event_id", "sequence", "kind", "sensor_id", "schema_version", "recorded_at", "recorded_at_us",
    ]

    /// Every schema version in order; append only.
    static let migrations: [Migration] = [
        Migration(
            version: 1,
            addedFieldColumns: version1FieldColumns,
            statements: [
                """
                CREATE TABLE connection_events (
                    event_id TEXT PRIMARY KEY NOT NULL,
                    sequence INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    sensor_id TEXT NOT NULL,
                    schema_version INTEGER NOT NULL,
                    recorded_at TEXT NOT NULL,
                    recorded_at_us INTEGER NOT NULL,
                    \(version1FieldColumns.map { "\($0.name) \($0.type)," }.joined(separator: "\n    "))
                    event_json TEXT NOT NULL
                )
                """,
                "CREATE INDEX connection_events_recorded_at_us ON connection_events (recorded_at_us)",
                "CREATE INDEX connection_events_remote_ip ON connection_events (remote_ip)",
                "CREATE INDEX connection_events_peer_id ON connection_events (peer_id)",
                """
                CREATE TABLE other_events (
                    event_id TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL,
                    sensor_id TEXT NOT NULL,
                    recorded_at_us INTEGER NOT NULL,
                    event_json TEXT NOT NULL
                )
                """,
            ]
        ),
        // Every known field already has its column, so a full JSON copy per row only doubled the bytes written.
        // From this version `event_json` holds the event's JSON only when the event has a field without a column
        // (nothing is lost) and is '' otherwise. No statement: rows written before keep their copy, and a large
        // database is not rebuilt (which could outlast create()'s timeout); the version records the change.
        Migration(version: 2, addedFieldColumns: [], statements: []),
        // The label's evidence (where the probed port came from, a Version that named no address) and the
        // connections that never opened a gRPC stream (what they sent, and how many attempts a summary row
        // stands for). Columns are appended, so a large database migrates at once and rows keep an empty
        // event_json.
        // The label's evidence and the connections that never opened a gRPC stream. Columns are appended, so a
        // large database migrates at once and rows keep an empty event_json.
        Migration(version: 3, addedFieldColumns: EventColumns.labelEvidence.map(FieldColumn.init), statements: []),
    ]

    /// The newest schema version this plugin knows.
    static var latestVersion: Int32 { migrations.last!.version }

    /// Every field column of the latest schema, in table order.
    static var fieldColumns: [FieldColumn] { migrations.flatMap(\.addedFieldColumns) }

    /// The SQL that brings a database from `version - 1` to `migration.version`.
    static func statements(for migration: Migration) -> [String] {
        guard migration.version > 1 else { return migration.statements }
        let added = migration.addedFieldColumns.map {
            "ALTER TABLE connection_events ADD COLUMN \($0.name) \($0.type)"
        }
        return added + migration.statements
    }

    private static let version1FieldColumns = EventColumns.initial.map(FieldColumn.init)
}

extension SQLiteSchema.FieldColumn {
    /// The SQLite column of a shared event column (a boolean is an INTEGER 0 or 1, as SQLite has no boolean).
    init(_ column: EventColumns.Column) {
        name = column.name
        switch column.kind {
        case .text: type = "TEXT"
        case .integer, .boolean: type = "INTEGER"
        case .real: type = "REAL"
        }
    }
}
