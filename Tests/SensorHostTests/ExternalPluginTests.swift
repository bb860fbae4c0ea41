import Foundation
import SensorEvents
import SensorHost
import Testing

/// Sinks are chosen by `plugins.toml` alone: plugins built outside the package, against nothing but
/// `sensor_plugin.h`, are added, swapped and disabled without rebuilding the host.
@Suite("Sinks added and swapped without rebuilding the host", .serialized)
struct ExternalPluginTests {
    /// Probing off: these tests are about the sinks, and a dial-back would only add time.
    static let settings = ["probing": ["enabled": "false"]]

    /// A `[[sink]]` for the JSON-lines sink; `flush_interval_ms` is short so polls finish quickly.
    static func jsonLinesSink(library: String, path: String, enabled: Bool = true) -> String {
        """
        [[sink]]
        name = "jsonl"
        library = "\(library)"
        enabled = \(enabled)
        flush_interval_ms = 50
        [sink.config]
        path = "\(path)"
        fsync = "batch"
        """
    }

    /// The SQLite sink the harness reads rows from.
    static let sqliteSink = """
        [[sink]]
        name = "sqlite"
        library = "libSQLiteSink.so"
        [sink.config]
        path = "sensor-data.db"
        """

    /// Checks that `object` is the one completed connection of the Python peer.
    static func expectCompletedConnection(_ object: [String: Any], eventID: String? = nil) {
        #expect(object["kind"] as? String == "connection")
        #expect(object["handshake_outcome"] as? String == "completed")
        #expect((object["event_id"] as? String)?.count == 36)
        if let eventID {
            #expect(object["event_id"] as? String == eventID)
        }
    }

    @Test("A sink compiled from C source and the header alone gets the same event as the SQLite sink")
    func compiledBesideSQLite() async throws {
        let scratch = try ExternalPlugin.makeTemporaryDirectory()
        defer { ExternalPlugin.remove(scratch) }
        let library = try ExternalPlugin.compile(
            try ExternalPlugin.jsonLinesSources(), name: "JSONLinesSink", in: scratch)
        let output = scratch + "/events.jsonl"
        let plugins = Self.sqliteSink + "\n\n" + Self.jsonLinesSink(library: library, path: output)
        let rows = try await SensorHarness.withSensor(Self.settings, plugins: plugins) { sensor in
            #expect(sensor.application.dispatcher.sinkNames == ["sqlite", "jsonl"])
            let run = try await sensor.pythonClient(["--scenario", "node"])
            #expect(run.status == 0)
            return try await sensor.waitForRows()
        }
        // withSensor has shut the sensor down: every sink is drained, flushed and destroyed.
        let lines = try ExternalPlugin.jsonLines(at: output)
        try #require(lines.count == 1, "expected exactly one line, got \(lines)")
        try #require(rows.count == 1)
        Self.expectCompletedConnection(lines[0], eventID: rows[0]["event_id"])
    }

    @Test("enabled = false in plugins.toml leaves a sink out: no file, and SQLite still gets the event")
    func disabledByEditingPluginsFile() async throws {
        let scratch = try ExternalPlugin.makeTemporaryDirectory()
        defer { ExternalPlugin.remove(scratch) }
        let library = try ExternalPlugin.compile(
            try ExternalPlugin.jsonLinesSources(), name: "JSONLinesSink", in: scratch)
        let output = scratch + "/events.jsonl"
        let plugins = Self.sqliteSink + "\n\n" + Self.jsonLinesSink(library: library, path: output, enabled: false)
        try await SensorHarness.withSensor(Self.settings, plugins: plugins) { sensor in
            #expect(sensor.application.dispatcher.sinkNames == ["sqlite"])
            let run = try await sensor.pythonClient(["--scenario", "node"])
            #expect(run.status == 0)
            let rows = try await sensor.waitForRows()
            #expect(rows.first?["handshake_outcome"] == "completed")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("The packaged libJSONLinesSink.so replaces SQLite; a relative path lands beside plugins.toml")
    func packagedInsteadOfSQLite() async throws {
        _ = try ExternalPlugin.packaged("libJSONLinesSink.so")
        let plugins = Self.jsonLinesSink(library: "libJSONLinesSink.so", path: "events.jsonl")
        try await SensorHarness.withSensor(Self.settings, plugins: plugins) { sensor in
            #expect(sensor.application.dispatcher.sinkNames == ["jsonl"])
            let run = try await sensor.pythonClient(["--scenario", "node"])
            #expect(run.status == 0)
            let output = sensor.directory + "/events.jsonl"
            var lines: [[String: Any]] = []
            let deadline = ContinuousClock.now + .seconds(30)
            while lines.isEmpty && ContinuousClock.now < deadline {
                lines = (try? ExternalPlugin.jsonLines(at: output)) ?? []
                try await Task.sleep(for: .milliseconds(25))
            }
            try #require(lines.count == 1, "expected exactly one line in \(output), got \(lines)")
            Self.expectCompletedConnection(lines[0])
            #expect(!FileManager.default.fileExists(atPath: sensor.databasePath), "SQLite is not configured")
        }
    }

    @Test(
        "A bad [sink.config] stops startup with SENSOR_BAD_CONFIG",
        arguments: [
            "path = \"events.jsonl\"\ncolour = \"blue\"",
            "path = \"events.jsonl\"\nfsync = \"sometimes\"",
            "fsync = \"none\"",
            "path = 3",
            "path = \"no-such-folder/events.jsonl\"",
        ]
    )
    func badConfig(table: String) async throws {
        let library = try ExternalPlugin.packaged("libJSONLinesSink.so")
        let plugins = "[[sink]]\nname = \"jsonl\"\nlibrary = \"\(library)\"\n[sink.config]\n\(table)\n"
        await #expect {
            try await SensorHarness.withSensor(Self.settings, plugins: plugins) { _ in }
        } throws: { error in
            (error as? PluginLoadError)?.code == .badConfig
        }
    }

    @Test("The C example of the README compiles as shown, loads, and counts the events it is given")
    func readmeExample() async throws {
        let scratch = try ExternalPlugin.makeTemporaryDirectory()
        defer { ExternalPlugin.remove(scratch) }
        let source = scratch + "/mysink.c"
        try ExternalPlugin.readmeCodeBlock(under: "## Writing a sink", language: "c")
            .write(toFile: source, atomically: true, encoding: .utf8)
        let library = try ExternalPlugin.compile([source], name: "mysink", in: scratch)
        let plugin = try PluginLoader().load(path: library, sinkName: "mysink")
        #expect(plugin.name == "mysink")
        #expect(plugin.builtWith == "c")
        #expect(plugin.abiVersion.major == 1)

        let plugins = "[[sink]]\nname = \"mysink\"\nlibrary = \"\(library)\"\nflush_interval_ms = 50\n"
        try await SensorHarness.withSensor(Self.settings, plugins: plugins) { sensor in
            let run = try await sensor.pythonClient(["--scenario", "node"])
            #expect(run.status == 0)
            let expected = [
                "sensor_sink_plugin_counter_total{sink=\"mysink\",name=\"events\"} 1",
                "sensor_sink_plugin_counter_total{sink=\"mysink\",name=\"completed_handshakes\"} 1",
            ]
            var body = ""
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                body = try await sensor.get("/metrics").body
                if expected.allSatisfy(body.contains) { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            for line in expected {
                #expect(body.contains(line), "missing \(line)")
            }
        }
    }
}
