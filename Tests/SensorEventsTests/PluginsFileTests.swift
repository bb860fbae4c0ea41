import Foundation
import SensorEvents
import Testing

@Suite("plugins.toml parsing")
struct PluginsFileTests {
    @Test("A complete file is parsed with defaults, nested config and host-added keys")
    func parsesValidFile() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let path = directory.appendingPathComponent("plugins.toml").path
        try """
        [[sink]]
        name = "sqlite"
        library = "libSQLiteSink.so"
        enabled = true
        required = false
        queue_capacity = 2000
        batch_max = 100
        flush_interval_ms = 250
        retry_initial_ms = 10
        retry_max_ms = 5000
        disable_after_errors = 0
        [sink.config]
        path = "sensor-data.db"
        ratio = 0.5
        ports = [1, 2, 3]
        mixed = ["a", 1, true]
        since = 1979-05-27T07:32:00Z
        local = 1979-05-27T07:32:00.25
        day = 1979-05-27
        at = 07:32:00
        quote = "say \\"hi\\"\\n"
        [sink.config.nested]
        deep = { flag = false }

        [[sink]]
        name = "second"
        library = "plugins/libOther.so"
        enabled = false
        """.write(toFile: path, atomically: true, encoding: .utf8)

        let file = try PluginsFile(contentsOf: path)
        #expect(file.directory == directory.standardizedFileURL.path)
        #expect(file.sinks.count == 2)
        let sqlite = file.sinks[0]
        #expect(sqlite.name == "sqlite")
        #expect(sqlite.isEnabled && !sqlite.isRequired)
        #expect(sqlite.queueCapacity == 2000 && sqlite.batchMax == 100)
        #expect(sqlite.flushInterval == .milliseconds(250))
        #expect(sqlite.retryInitial == .milliseconds(10) && sqlite.retryMax == .milliseconds(5000))
        #expect(sqlite.disableAfterErrors == 0)
        #expect(sqlite.config["ports"] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(sqlite.config["mixed"] == .array([.string("a"), .integer(1), .bool(true)]))
        #expect(sqlite.config["since"] == .string("1979-05-27T07:32:00Z"))
        #expect(sqlite.config["local"] == .string("1979-05-27T07:32:00.25"))
        #expect(sqlite.config["day"] == .string("1979-05-27"))
        #expect(sqlite.config["at"] == .string("07:32:00"))
        #expect(sqlite.config["nested"] == .table(["deep": .table(["flag": .bool(false)])]))

        let json = sqlite.pluginConfigurationJSON()
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        )
        #expect(object["_config_dir"] as? String == file.directory)
        #expect(object["_sink_name"] as? String == "sqlite")
        #expect(object["path"] as? String == "sensor-data.db")
        #expect(object["quote"] as? String == "say \"hi\"\n")
        #expect(object["ratio"] as? Double == 0.5)
        #expect(json.contains(#""nested":{"deep":{"flag":false}}"#))

        let second = file.sinks[1]
        #expect(!second.isEnabled && second.isRequired)
        #expect(second.queueCapacity == SinkConfiguration.defaultQueueCapacity)
        #expect(second.batchMax == SinkConfiguration.defaultBatchMax)
        #expect(second.flushInterval == SinkConfiguration.defaultFlushInterval)
        #expect(second.retryInitial == SinkConfiguration.defaultRetryInitial)
        #expect(second.retryMax == SinkConfiguration.defaultRetryMax)
        #expect(second.disableAfterErrors == SinkConfiguration.defaultDisableAfterErrors)
        #expect(second.pluginConfigurationJSON().hasPrefix(#"{"_config_dir":"#))
    }

    @Test("An empty file has no sinks")
    func emptyFile() throws {
        let file = try PluginsFile(parsing: "# nothing yet\n", file: "plugins.toml", directory: "/etc/sensor")
        #expect(file.sinks.isEmpty)
    }

    @Test("Library names resolve: absolute, relative to the file, bare next to the executable first")
    func libraryCandidates() {
        func candidates(_ library: String) -> [String] {
            SinkConfiguration(name: "s", library: library, configDirectory: "/etc/sensor")
                .libraryCandidates(executableDirectory: "/usr/lib/sensor")
        }
        #expect(candidates("/opt/libA.so") == ["/opt/libA.so"])
        #expect(candidates("plugins/../libA.so") == ["/etc/sensor/libA.so"])
        #expect(candidates("libA.so") == ["/usr/lib/sensor/libA.so", "/etc/sensor/libA.so"])
    }

    /// The smallest valid sink entry.
    static let minimal = "[[sink]]\nname = \"a\"\nlibrary = \"libA.so\"\n"

    /// Invalid files, the key the error must name and a fragment of its reason.
    static let invalidFiles: [(toml: String, key: String, reason: String)] = [
        ("[[sink]]\nlibrary = \"libA.so\"", "sink[0].name", "is required"),
        ("[[sink]]\nname = \"a\"", "sink[0].library", "is required"),
        (minimal + "queue_capacty = 5", "sink[0].queue_capacty", "unknown key"),
        (minimal + "queue_capacity = \"big\"", "sink[0].queue_capacity", "must be an integer, got string"),
        (minimal + "queue_capacity = 0", "sink[0].queue_capacity", "between 1 and 10000000, got 0"),
        (minimal + "batch_max = 1.5", "sink[0].batch_max", "must be an integer, got floating-point number"),
        (minimal + "queue_capacity = 10\nbatch_max = 20", "sink[0].batch_max", "must not exceed queue_capacity"),
        (minimal + "flush_interval_ms = -1", "sink[0].flush_interval_ms", "between 1 and 3600000"),
        (minimal + "retry_initial_ms = 500\nretry_max_ms = 100", "sink[0].retry_max_ms", "between 500 and"),
        (minimal + "disable_after_errors = -2", "sink[0].disable_after_errors", "between 0 and"),
        (minimal + "enabled = \"yes\"", "sink[0].enabled", "must be true or false, got string"),
        (minimal + "required = 1", "sink[0].required", "must be true or false, got integer"),
        (minimal + "config = 5", "sink[0].config", "must be a table"),
        (minimal + "[sink.config]\n_config_dir = \"/x\"", "sink[0].config._config_dir", "reserved"),
        (minimal + "[sink.config]\nlimit = inf", "sink[0].config.limit", "inf and nan"),
        (minimal + "[sink.config]\nlist = [1, nan]", "sink[0].config.list[1]", "inf and nan"),
        ("[[sink]]\nname = \"a b\"\nlibrary = \"x\"", "sink[0].name", "A-Z a-z 0-9"),
        ("[[sink]]\nname = \"a\"\nlibrary = \"\"", "sink[0].library", "non-empty"),
        ("[[sink]]\nname = 7\nlibrary = \"x\"", "sink[0].name", "must be a string, got integer"),
        (minimal + minimal, "sink[1].name", "duplicate sink name \"a\" (already used by sink[0])"),
        ("[sink]\nname = \"a\"", "sink", "array of tables"),
        ("sink = [1]", "sink[0]", "must be a table, got integer"),
        ("sinks = []", "sinks", "unknown key"),
        ("[[sink]\nname = 1", "", "not valid TOML (line 1"),
        ("[[sink]]\nname = \"a\"\nname = \"b\"", "", "not valid TOML (line 3"),
    ]

    @Test("Invalid files name the file, the key and the reason", arguments: invalidFiles)
    func rejectsInvalidFile(toml: String, key: String, reason: String) {
        #expect {
            try PluginsFile(parsing: toml, file: "conf/plugins.toml", directory: "/etc/sensor")
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.file == "conf/plugins.toml" && error.key == key && error.reason.contains(reason)
                && error.description.hasPrefix("conf/plugins.toml: ")
        }
    }

    @Test("A missing file is reported with its name")
    func missingFile() {
        #expect {
            try PluginsFile(contentsOf: "/nonexistent/plugins.toml")
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.file == "/nonexistent/plugins.toml" && error.key.isEmpty
                && error.reason.contains("cannot read")
        }
    }
}
