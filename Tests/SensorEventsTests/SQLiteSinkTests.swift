import Foundation
import MetricsTestKit
import SensorEvents
import TestSupport
import Testing

@Suite("SQLite sink end to end (real libSQLiteSink.so)")
struct SQLiteSinkTests {
    /// A scratch folder with a plugins.toml for the real SQLite sink, plus metrics and logs to inspect.
    struct Setup {
        /// The scratch folder (holds plugins.toml and data/).
        let directory: URL
        /// The parsed plugins.toml.
        let pluginsFile: PluginsFile
        /// Metrics of the dispatchers started from this setup.
        let metrics = TestMetrics()
        /// Logs of the dispatchers started from this setup.
        let logs = LogCapture()
        /// Where the sink writes (relative `path` resolved against `_config_dir`).
        var databasePath: String { directory.appendingPathComponent("data/events.db").path }

        /// A plugins.toml in a scratch folder whose sink writes `data/events.db` relative to that folder.
        init(extraConfig: String = "") throws {
            let library = try TestEnvironment.sqliteSinkLibrary()
            directory = try TestEnvironment.makeTemporaryDirectory()
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent("data"),
                withIntermediateDirectories: true
            )
            let file = directory.appendingPathComponent("plugins.toml").path
            try """
            [[sink]]
            name = "sqlite"
            library = "\(library)"
            batch_max = 500
            flush_interval_ms = 20
            [sink.config]
            path = "data/events.db"
            \(extraConfig)
            """.write(toFile: file, atomically: true, encoding: .utf8)
            pluginsFile = try PluginsFile(contentsOf: file)
        }

        /// Starts a dispatcher for the plugins.toml.
        func start() async throws -> SinkDispatcher {
            try await SinkDispatcher(
                pluginsFile: pluginsFile,
                configuration: .init(sensorID: "sensor-sqlite"),
                logger: logs.logger,
                metricsFactory: metrics
            )
        }
    }

    @Test(
        """
        10,000 connection events land once each with correct columns; a field without a column keeps the event's \
        JSON; session_closed updates its row
        """)
    func endToEnd() async throws {
        let setup = try Setup()
        let dispatcher = try await setup.start()
        let connections = (0..<10_000).map {
            ConnectionEvents.connection($0, shuffled: $0 % 2 == 1, futureField: $0 % 3 != 1)
        }
        var closings: [SensorEvent] = []
        for (index, event) in connections.enumerated() {
            dispatcher.publish(event)
            if index < 100 {
                let closing = ConnectionEvents.sessionClosed(for: event, index: index)
                closings.append(closing)
                dispatcher.publish(closing)
            }
        }
        let orphan = ConnectionEvents.sessionClosed(for: ConnectionEvents.connection(99_999), index: 0)
        let custom = SensorEvent(
            kind: .init(rawValue: "probe_summary"), sensorID: "sensor-sqlite",
            timeUnixMicros: 42, fields: [EventField("probes", .int(3))])
        dispatcher.publish(orphan)
        dispatcher.publish(custom)
        await dispatcher.shutdown()

        let total = Int64(connections.count + closings.count + 2)
        #expect(setup.metrics.counterTotal(label: SinkMetricNames.delivered, dimensions: [("sink", "sqlite")]) == total)
        #expect(setup.metrics.counterTotal(label: SinkMetricNames.dropped, dimensions: [("sink", "sqlite")]) == 0)

        let reader = try SQLiteReader(path: setup.databasePath)
        #expect(try reader.value("PRAGMA journal_mode") as? String == "wal")
        #expect(try reader.value("PRAGMA user_version") as? Int64 == 3)
        let rows = try reader.rows("SELECT * FROM connection_events")
        #expect(rows.count == connections.count)
        var byID: [String: [String: (any Sendable)?]] = [:]
        for row in rows {
            byID[row["event_id"] as? String ?? ""] = row
        }
        #expect(byID.count == connections.count)
        var sequences = Set<Int64>()
        for (index, event) in connections.enumerated() {
            let id = event.eventID.uuidString.lowercased()
            guard let row = byID[id] else {
                Issue.record("event \(index) (\(id)) is missing")
                continue
            }
            sequences.insert(row["sequence"] as? Int64 ?? -1)
            #expect(row["kind"] as? String == "connection")
            #expect(row["sensor_id"] as? String == "sensor-sqlite")
            #expect(row["schema_version"] as? Int64 == 1)
            #expect(row["recorded_at_us"] as? Int64 == event.timeUnixMicros)
            #expect(row["recorded_at"] as? String == RFC3339.format(unixMicros: event.timeUnixMicros))
            #expect(row["remote_ip"] as? String == "10.0.\(index / 256).\(index % 256)")
            #expect(row["remote_port"] as? Int64 == Int64(10_000 + index))
            #expect(row["handshake_duration_ms"] as? Double == Double(index) / 4)
            #expect(row["handshake_error"] as? String == nil)
            #expect(row["peer_disable_relay_tx"] as? Int64 == (index % 2 == 0 ? 1 : 0))
            #expect(row["advertised_ip_differs"] as? Int64 == (index % 3 == 0 ? 1 : 0))
            #expect(row["probe_duration_ms"] as? Double == 12.5)
            #expect(row["addresses_sent"] as? Int64 == Int64(index % 7))
            let json = index % 3 != 1 ? String(decoding: event.jsonObject(), as: UTF8.self) : ""
            #expect(row["event_json"] as? String == json)
            if index < 100 {
                #expect(row["session_open"] as? Int64 == 0)
                #expect(row["session_duration_ms"] as? Double == 1000.5 + Double(index))
                #expect(row["disconnect_reason"] as? String == "peer closed")
                #expect(row["messages_received"] as? Int64 == 100 + Int64(index))
                #expect(row["pings_answered"] as? Int64 == Int64(index))
            } else {
                #expect(row["session_open"] as? Int64 == 1)
                #expect(row["messages_received"] as? Int64 == Int64(index % 50))
            }
        }
        #expect(sequences.count == connections.count && !sequences.contains(-1))
        let others = try reader.rows(
            "SELECT event_id, kind, recorded_at_us, event_json FROM other_events ORDER BY kind")
        #expect(others.count == 2)
        #expect(others.first?["kind"] as? String == "probe_summary")
        #expect(others.first?["event_json"] as? String == String(decoding: custom.jsonObject(), as: UTF8.self))
        #expect(others.last?["event_id"] as? String == orphan.eventID.uuidString.lowercased())
        #expect(others.last?["event_json"] as? String == String(decoding: orphan.jsonObject(), as: UTF8.self))
        let indexes = try reader.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            .compactMap { $0["name"] as? String }
        #expect(Set(indexes).isSuperset(of: ["connection_events_recorded_at_us", "connection_events_remote_ip"]))
    }

    @Test("Redelivering the same events (as after a RETRY) changes nothing")
    func idempotentAcrossRuns() async throws {
        let setup = try Setup()
        let events = (0..<300).map { ConnectionEvents.connection($0) }
        for _ in 0..<2 {
            let dispatcher = try await setup.start()
            events.forEach(dispatcher.publish)
            await dispatcher.shutdown()
        }
        let reader = try SQLiteReader(path: setup.databasePath)
        #expect(try reader.value("SELECT count(*) FROM connection_events") as? Int64 == 300)
    }

    @Test("A database from a newer plugin version is refused with BAD_CONFIG and a clear log line")
    func refusesNewerSchema() async throws {
        let setup = try Setup()
        try await setup.start().shutdown()
        try SQLiteReader(path: setup.databasePath).execute("PRAGMA user_version = 99")
        let error = try await #require(throws: PluginLoadError.self) { try await setup.start() }
        #expect(error.code == .badConfig)
        #expect(!setup.logs.records(containing: "has schema version 99, newer than the 3").isEmpty)
    }

    /// Invalid `[sink.config]` lines and the reason the plugin must log.
    static let badConfigs: [(config: String, logged: String)] = [
        ("synchronous = \"sometimes\"", "\"synchronous\" must be \"normal\", \"full\" or \"off\""),
        ("busy_timeout_ms = \"long\"", "\"busy_timeout_ms\" must be an integer"),
        ("colour = \"blue\"", "unknown key(s) colour"),
    ]

    @Test("Invalid [sink.config] values are rejected with the plugin's reason", arguments: badConfigs)
    func rejectsBadConfig(config: String, logged: String) async throws {
        let setup = try Setup(extraConfig: config)
        let error = try await #require(throws: PluginLoadError.self) { try await setup.start() }
        #expect(error.code == .badConfig)
        #expect(error.description.contains("sink \"sqlite\""))
        #expect(!setup.logs.records(containing: logged, sink: "sqlite").isEmpty)
    }
}
