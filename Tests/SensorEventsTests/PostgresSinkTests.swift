import Foundation
import SensorEvents
import TestSupport
import Testing

/// PostgresSink (the real `libPostgresSink.so`) against a real PostgreSQL server started for each test.
@Suite("PostgreSQL sink end to end (real libPostgresSink.so, real PostgreSQL)", .serialized)
struct PostgresSinkTests {
    /// A server, a plugins.toml for the sink and a journal.
    struct Lab {
        let server: PostgresServer
        let setup: SinkSetup

        /// A sink writing to `server` (a new one unless given) with `config` replacing or adding keys.
        init(server: PostgresServer? = nil, config: [String: String] = [:], prefix: String = "pg-sink") throws {
            let server = try server ?? PostgresServer()
            self.server = server
            // password_file is relative: the sink resolves it against the folder of plugins.toml.
            var sinkConfig = ["url": "\"\(server.url)\"", "password_file": "\"pg-password\"", "connect_timeout_s": "2"]
            sinkConfig.merge(config) { $1 }
            setup = try SinkSetup(
                [
                    .init(
                        name: "postgres", library: "libPostgresSink.so", config: sinkConfig, host: ["batch_max": "500"])
                ],
                prefix: prefix)
            let passwordFile = setup.directory.appendingPathComponent("pg-password")
            try server.password.write(to: passwordFile, atomically: true, encoding: .utf8)
            chmod(passwordFile.path, 0o600)
        }

        func start(sensorID: String = "sensor-pg", drainTimeout: Duration = .seconds(10)) async throws
            -> SinkDispatcher
        {
            try await setup.start(sensorID: sensorID, drainTimeout: drainTimeout)
        }
    }

    @Test(
        """
        Connection events land once each with PostgreSQL types; session_closed updates its row; other kinds and an \
        orphan session_closed keep their JSON; the schema is versioned and indexed
        """)
    func rowsAndTypes() async throws {
        let lab = try Lab()
        defer { lab.server.destroy() }
        let dispatcher = try await lab.start()
        let connections = (0..<2_000).map { ConnectionEvents.connection($0, futureField: $0 % 3 == 0) }
        for (index, event) in connections.enumerated() {
            dispatcher.publish(event)
            if index < 100 { dispatcher.publish(ConnectionEvents.sessionClosed(for: event, index: index)) }
        }
        let orphan = ConnectionEvents.sessionClosed(for: ConnectionEvents.connection(99_999), index: 0)
        let custom = SensorEvent(
            kind: .init(rawValue: "probe_summary"), sensorID: "sensor-pg", timeUnixMicros: 42,
            fields: [EventField("probes", .int(3))])
        dispatcher.publish(orphan)
        dispatcher.publish(custom)
        await dispatcher.shutdown()

        let server = lab.server
        #expect(lab.setup.hostCounter(SinkMetricNames.delivered, sink: "postgres") == 2_102)
        #expect(try server.count("SELECT count(*) FROM connection_events") == 2_000)
        #expect(try server.count("SELECT count(DISTINCT sequence) FROM connection_events") == 2_000)
        #expect(
            try server.psql("SELECT version, description FROM schema_migrations") == [
                "1|connection_events and other_events"
            ])
        let types = try server.psql(
            """
            SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = 'connection_events'
            AND column_name IN ('recorded_at', 'remote_port', 'handshake_duration_ms', 'session_open', 'user_agent')
            ORDER BY column_name
            """)
        #expect(
            types == [
                "handshake_duration_ms double precision", "recorded_at timestamp with time zone", "remote_port bigint",
                "session_open boolean", "user_agent text",
            ])
        let row = try server.psql(
            """
            SELECT remote_ip, remote_port, handshake_duration_ms, peer_disable_relay_tx, advertised_ip_differs, \
            recorded_at_us, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), session_open, \
            session_duration_ms, disconnect_reason, messages_received, handshake_error IS NULL, event_json = '' \
            FROM connection_events WHERE remote_ip = '10.0.0.6'
            """)
        let event6 = connections[6]
        let recorded = Date(timeIntervalSince1970: Double(event6.timeUnixMicros) / 1_000_000)
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let text = formatter.string(from: recorded) + String(format: ".%06d", Int(event6.timeUnixMicros % 1_000_000))
        #expect(
            row == ["10.0.0.6|10006|1.5|t|t|\(event6.timeUnixMicros)|\(text)|f|1006.5|peer closed|106|t|f"])
        // Index 151 has no field without a column: no JSON copy; it stays open (no session_closed for it).
        #expect(
            try server.psql("SELECT event_json, session_open FROM connection_events WHERE remote_ip = '10.0.0.151'")
                == ["|t"])
        #expect(try server.count("SELECT count(*) FROM connection_events WHERE session_open = false") == 100)
        let json = try server.psql("SELECT event_json FROM connection_events WHERE remote_ip = '10.0.0.6'")
        #expect(json == [String(decoding: event6.jsonObject(), as: UTF8.self)])
        let others = try server.psql("SELECT event_id, kind FROM other_events ORDER BY kind")
        #expect(
            others == [
                "\(custom.eventID.uuidString.lowercased())|probe_summary",
                "\(orphan.eventID.uuidString.lowercased())|session_closed",
            ])
        let indexes = try server.psql(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'connection_events' ORDER BY 1")
        #expect(
            Set(indexes).isSuperset(of: [
                "connection_events_pkey", "connection_events_sensor_time", "connection_events_remote_ip",
            ]))
        #expect(!lab.setup.logs.records(containing: "postgres sink: writing to database kaspa on 127.0.0.1").isEmpty)
        #expect(lab.setup.logs.records(containing: server.password).isEmpty, "the password is never logged")
    }

    @Test("Delivering the same events again (a replay after a RETRY or a crash) adds nothing and updates nothing twice")
    func idempotentReplay() async throws {
        let lab = try Lab()
        defer { lab.server.destroy() }
        let events = (0..<600).map { ConnectionEvents.connection($0) }
        let closings = events.prefix(50).enumerated().map { ConnectionEvents.sessionClosed(for: $1, index: $0) }
        // Two setups over one server: the second has its own journal, so it delivers everything again.
        let again = try Lab(server: lab.server)
        for current in [lab, again] {
            let dispatcher = try await current.start()
            (events + closings).forEach(dispatcher.publish)
            await dispatcher.shutdown()
        }
        #expect(try lab.server.count("SELECT count(*) FROM connection_events") == 600)
        #expect(try lab.server.count("SELECT count(*) FROM connection_events WHERE session_open = false") == 50)
        #expect(try lab.server.count("SELECT count(*) FROM other_events") == 0)
        #expect(again.setup.counter("duplicates_skipped", sink: "postgres") == 600)
        #expect(lab.setup.counter("events_written", sink: "postgres") == 650)
    }

    @Test(
        "The server stops and restarts (cleanly, then as a crash) in the middle of a burst: every event lands once",
        arguments: ["fast", "immediate"])
    func serverRestartMidBurst(mode: String) async throws {
        let lab = try Lab()
        defer { lab.server.destroy() }
        let dispatcher = try await lab.start()
        let events = (0..<20_000).map { ConnectionEvents.connection($0, futureField: false) }
        let producer = Task {
            for (index, event) in events.enumerated() {
                dispatcher.publish(event)
                if index % 500 == 499 { await Task.yield() }
            }
        }
        #expect(try await eventually { lab.setup.counter("events_written", sink: "postgres") >= 2_000 })
        try lab.server.stop(mode: mode)
        #expect(try await eventually { lab.setup.hostCounter(SinkMetricNames.retries, sink: "postgres") >= 2 })
        try lab.server.start()
        await producer.value
        #expect(try await eventually { lab.setup.hostCounter(SinkMetricNames.delivered, sink: "postgres") == 20_000 })
        await dispatcher.shutdown()
        #expect(try lab.server.count("SELECT count(*) FROM connection_events") == 20_000)
        #expect(try lab.server.count("SELECT count(DISTINCT remote_port) FROM connection_events") == 20_000)
        #expect(!lab.setup.logs.records(containing: "the host retries it").isEmpty)
        #expect(lab.setup.counter("reconnects", sink: "postgres") >= 1)
        #expect(try lab.setup.deadLetters(sink: "postgres").isEmpty)
    }

    @Test("Two sensors start together against an empty database and write into the same tables")
    func twoSensorsOneDatabase() async throws {
        let first = try Lab(prefix: "pg-sensor-a")
        defer { first.server.destroy() }
        let second = try Lab(server: first.server, prefix: "pg-sensor-b")
        async let a = first.start(sensorID: "sensor-a")
        async let b = second.start(sensorID: "sensor-b")
        let (dispatcherA, dispatcherB) = try await (a, b)
        for index in 0..<3_000 {
            var eventA = ConnectionEvents.connection(index)
            eventA.sensorID = "sensor-a"
            var eventB = ConnectionEvents.connection(index)
            eventB.sensorID = "sensor-b"
            dispatcherA.publish(eventA)
            dispatcherB.publish(eventB)
        }
        await dispatcherA.shutdown()
        await dispatcherB.shutdown()
        let perSensor = try first.server.psql(
            "SELECT sensor_id, count(*) FROM connection_events GROUP BY sensor_id ORDER BY 1")
        #expect(perSensor == ["sensor-a|3000", "sensor-b|3000"])
        #expect(try first.server.count("SELECT count(*) FROM schema_migrations") == 1)
    }

    @Test("A server that is down at startup: the sink starts, events wait in the journal and land once it is up")
    func unreachableAtStartup() async throws {
        let lab = try Lab()
        defer { lab.server.destroy() }
        try lab.server.stop()
        let dispatcher = try await lab.start()
        (0..<300).map { ConnectionEvents.connection($0) }.forEach(dispatcher.publish)
        #expect(try await eventually { lab.setup.hostCounter(SinkMetricNames.retries, sink: "postgres") >= 1 })
        #expect(!lab.setup.logs.records(containing: "cannot reach the server now").isEmpty)
        try lab.server.start()
        #expect(try await eventually { lab.setup.hostCounter(SinkMetricNames.delivered, sink: "postgres") == 300 })
        await dispatcher.shutdown()
        #expect(try lab.server.count("SELECT count(*) FROM connection_events") == 300)
    }

    @Test(
        """
        An event the server refuses for its content goes to the dead letters with the server's reason; the rest of \
        its batch is stored; a NUL in a peer string is stored as U+FFFD
        """)
    func refusedEventIsIsolated() async throws {
        let lab = try Lab()
        defer { lab.server.destroy() }
        var events = (0..<200).map { ConnectionEvents.connection($0) }
        var bad = ConnectionEvents.connection(500)
        bad.fields = bad.fields.map { $0.name == "remote_port" ? EventField("remote_port", .text("not a port")) : $0 }
        events.insert(bad, at: 120)
        var nul = ConnectionEvents.connection(501)
        nul.fields = nul.fields.map {
            $0.name == "user_agent" ? EventField("user_agent", .text("/a\u{0}b\\c\td/")) : $0
        }
        events.append(nul)
        let dispatcher = try await lab.start()
        events.forEach(dispatcher.publish)
        await dispatcher.shutdown()
        #expect(try lab.server.count("SELECT count(*) FROM connection_events") == 201)
        let letters = try lab.setup.deadLetters(sink: "postgres")
        #expect(letters.count == 1)
        #expect((letters.first?["reason"] as? String)?.contains("22P02") == true)
        #expect(
            ((letters.first?["event"] as? [String: Any])?["event_id"] as? String) == bad.eventID.uuidString.lowercased()
        )
        #expect(
            try lab.server.psql("SELECT user_agent FROM connection_events WHERE remote_ip = '10.0.1.245'") == [
                "/a\u{FFFD}b\\c\td/"
            ])
    }

    /// Invalid `[sink.config]` values and what the plugin must log.
    static let badConfigs: [(config: [String: String], logged: String)] = [
        (["url": ""], "missing required key \"url\""),
        (["url": "\"postgresql://[oops\""], "\"url\" is not a libpq connection URI or string"),
        (["sslmode": "\"sometimes\""], "\"sslmode\" must be \"disable\", \"allow\""),
        (
            ["password_env": "\"KASPA_SENSOR_TEST_NO_SUCH_VARIABLE\"", "password_file": ""],
            "environment variable KASPA_SENSOR_TEST_NO_SUCH_VARIABLE is not set"
        ),
        (["password_env": "\"HOME\""], "set \"password_env\" or \"password_file\", not both"),
        (["table_prefix": "\"Drop table\""], "\"table_prefix\" must be at most 32 lowercase letters"),
        (["statement_timeout_ms": "-1"], "\"statement_timeout_ms\" must be between 0 and 3600000"),
        (["colour": "\"blue\""], "unknown key(s) colour"),
    ]

    @Test("Invalid [sink.config] values stop the sink with BAD_CONFIG and the key named", arguments: badConfigs)
    func rejectsBadConfig(config: [String: String], logged: String) async throws {
        let server = try PostgresServer()
        defer { server.destroy() }
        let lab = try Lab(server: server, config: config)
        let error = try await #require(throws: PluginLoadError.self) { try await lab.start() }
        #expect(error.code == .badConfig)
        #expect(!lab.setup.logs.records(containing: logged, sink: "postgres").isEmpty)
    }

    @Test("A database migrated by a newer plugin is refused with BAD_CONFIG; a table_prefix keeps stores apart")
    func newerSchemaAndPrefix() async throws {
        let lab = try Lab()
        defer { lab.server.destroy() }
        try await lab.start().shutdown()
        try lab.server.psql("INSERT INTO schema_migrations (version, description) VALUES (99, 'future')")
        let error = try await #require(throws: PluginLoadError.self) { try await lab.start() }
        #expect(error.code == .badConfig)
        #expect(!lab.setup.logs.records(containing: "records schema version 99, newer than the 1").isEmpty)

        let prefixed = try Lab(server: lab.server, config: ["table_prefix": "\"fleet_\""])
        let dispatcher = try await prefixed.start()
        (0..<10).map { ConnectionEvents.connection($0) }.forEach(dispatcher.publish)
        await dispatcher.shutdown()
        #expect(try lab.server.count("SELECT count(*) FROM fleet_connection_events") == 10)
        #expect(try lab.server.count("SELECT max(version) FROM fleet_schema_migrations") == 1)
    }

    @Test("The password comes from password_env; a wrong one keeps the events in the journal, with the reason logged")
    func passwordFromEnvironment() async throws {
        let server = try PostgresServer()
        defer { server.destroy() }
        let variable = "KASPA_SENSOR_TEST_PG_\(UUID().uuidString.prefix(8))"
        setenv(variable, "wrong password", 1)
        let wrong = try Lab(server: server, config: ["password_env": "\"\(variable)\"", "password_file": ""])
        let dispatcher = try await wrong.start(drainTimeout: .milliseconds(300))
        dispatcher.publish(ConnectionEvents.connection(1))
        #expect(
            try await eventually { !wrong.setup.logs.records(containing: "password authentication failed").isEmpty })
        await dispatcher.shutdown()
        #expect(try server.count("SELECT count(*) FROM pg_tables WHERE tablename = 'connection_events'") == 0)
        #expect(wrong.setup.logs.records(containing: "wrong password").isEmpty)

        setenv(variable, server.password, 1)
        let right = try Lab(server: server, config: ["password_env": "\"\(variable)\"", "password_file": ""])
        let second = try await right.start()
        second.publish(ConnectionEvents.connection(1))
        await second.shutdown()
        #expect(try server.count("SELECT count(*) FROM connection_events") == 1)
    }
}
