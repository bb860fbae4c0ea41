import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("SQLite sink schema migrations (real libSQLiteSink.so)")
struct SQLiteMigrationTests {
    /// The field columns of schema version 1, as released.
    static let version1Fields = """
        direction TEXT, network TEXT, local_address TEXT, remote_ip TEXT, remote_port INTEGER,
        connected_at_us INTEGER, handshake_outcome TEXT, handshake_error TEXT, handshake_duration_ms REAL,
        protocol_version INTEGER, user_agent TEXT, peer_network TEXT, peer_id TEXT, peer_services INTEGER,
        peer_timestamp_ms INTEGER, peer_disable_relay_tx INTEGER, advertised_ip TEXT, advertised_port INTEGER,
        advertised_ip_differs INTEGER, advertised_address_error TEXT, classification TEXT, probe_outcome TEXT,
        probe_error TEXT, probe_target TEXT, probe_duration_ms REAL, probe_attempts INTEGER, probe_cached INTEGER,
        probe_user_agent TEXT, probe_peer_id TEXT, probe_protocol_version INTEGER, session_duration_ms REAL,
        disconnect_reason TEXT, session_open INTEGER, messages_received INTEGER, pings_answered INTEGER,
        addresses_sent INTEGER, addresses_received INTEGER
        """

    /// Writes a database as schema version 1 left it: the tables, the indexes and one connection row.
    static func writeVersion1Database(at path: String) throws {
        let reader = try SQLiteReader(creating: path)
        try reader.execute(
            """
            CREATE TABLE connection_events (event_id TEXT PRIMARY KEY NOT NULL, sequence INTEGER NOT NULL,
                kind TEXT NOT NULL, sensor_id TEXT NOT NULL, schema_version INTEGER NOT NULL,
                recorded_at TEXT NOT NULL, recorded_at_us INTEGER NOT NULL, \(version1Fields),
                event_json TEXT NOT NULL)
            """)
        try reader.execute("CREATE INDEX connection_events_recorded_at_us ON connection_events (recorded_at_us)")
        try reader.execute("CREATE INDEX connection_events_remote_ip ON connection_events (remote_ip)")
        try reader.execute("CREATE INDEX connection_events_peer_id ON connection_events (peer_id)")
        try reader.execute(
            """
            CREATE TABLE other_events (event_id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL,
                sensor_id TEXT NOT NULL, recorded_at_us INTEGER NOT NULL, event_json TEXT NOT NULL)
            """)
        try reader.execute(
            """
            INSERT INTO connection_events (event_id, sequence, kind, sensor_id, schema_version, recorded_at,
                recorded_at_us, remote_ip, peer_id, session_open, event_json)
            VALUES ('old-event', 7, 'connection', 'sensor-old', 1, '2023-11-14T22:13:20.000000Z',
                1700000000000000, '192.0.2.1', 'old-peer', 1, '{"event_id":"old-event"}')
            """)
        try reader.execute(
            "INSERT INTO other_events VALUES ('old-other', 'probe_summary', 'sensor-old', 1, '{\"probes\":3}')")
        try reader.execute("PRAGMA user_version = 1")
    }

    @Test("A version-1 database is migrated to 3: old rows keep everything, new rows go in without a JSON copy")
    func migratesVersion1() async throws {
        let setup = try SQLiteSinkTests.Setup()
        try Self.writeVersion1Database(at: setup.databasePath)
        let dispatcher = try await setup.start()
        let plain = (0..<50).map { ConnectionEvents.connection($0, futureField: false) }
        let withExtra = ConnectionEvents.connection(50)
        (plain + [withExtra]).forEach(dispatcher.publish)
        dispatcher.publish(ConnectionEvents.sessionClosed(for: plain[0], index: 0))
        await dispatcher.shutdown()
        #expect(setup.metrics.counterTotal(label: SinkMetricNames.dropped, dimensions: [("sink", "sqlite")]) == 0)
        #expect(!setup.logs.records(containing: "migrated", sink: "sqlite").isEmpty)

        let reader = try SQLiteReader(path: setup.databasePath)
        #expect(try reader.value("PRAGMA user_version") as? Int64 == 3)
        // Schema 3's columns were appended (no rebuild); old rows have none of them.
        let columns = try reader.rows("PRAGMA table_info(connection_events)").compactMap { $0["name"] as? String }
        for column in [
            "probe_port_source", "advertised_address_unspecified", "first_bytes", "attempt_count", "last_attempt_at_us",
        ] {
            #expect(columns.contains(column), "missing column \(column)")
        }
        let old = try #require(try reader.rows("SELECT * FROM connection_events WHERE event_id = 'old-event'").first)
        #expect((old["probe_port_source"] ?? nil) == nil)
        #expect(old["sequence"] as? Int64 == 7)
        #expect(old["remote_ip"] as? String == "192.0.2.1")
        #expect(old["peer_id"] as? String == "old-peer")
        #expect(old["recorded_at"] as? String == "2023-11-14T22:13:20.000000Z")
        #expect(old["event_json"] as? String == "{\"event_id\":\"old-event\"}")
        #expect(try reader.value("SELECT count(*) FROM other_events WHERE event_id = 'old-other'") as? Int64 == 1)
        #expect(try reader.value("SELECT count(*) FROM connection_events") as? Int64 == 52)

        let first = try #require(
            try reader.rows(
                "SELECT * FROM connection_events WHERE event_id = '\(plain[0].eventID.uuidString.lowercased())'"
            ).first)
        #expect(first["remote_ip"] as? String == "10.0.0.0")
        #expect(first["session_open"] as? Int64 == 0)
        #expect(first["disconnect_reason"] as? String == "peer closed")
        #expect(first["event_json"] as? String == "")
        let extraID = withExtra.eventID.uuidString.lowercased()
        let extra = try #require(
            try reader.value("SELECT event_json FROM connection_events WHERE event_id = '\(extraID)'"))
        #expect(extra as? String == String(decoding: withExtra.jsonObject(), as: UTF8.self))

        let indexes = try reader.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            .compactMap { $0["name"] as? String }
        #expect(
            Set(indexes) == [
                "connection_events_recorded_at_us", "connection_events_remote_ip", "connection_events_peer_id",
            ])
        #expect(try reader.value("PRAGMA integrity_check") as? String == "ok")
        // Dedupe still works on the migrated table: the same events again add nothing.
        let again = try await setup.start()
        plain.forEach(again.publish)
        await again.shutdown()
        #expect(try reader.value("SELECT count(*) FROM connection_events") as? Int64 == 52)
    }
}
