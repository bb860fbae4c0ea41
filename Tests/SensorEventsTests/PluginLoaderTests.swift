import Foundation
import MetricsTestKit
import SensorEvents
import TestSupport
import Testing

@Suite("Plugin loading")
struct PluginLoaderTests {
    @Test("The real libSQLiteSink.so loads and describes itself; a second load reuses the handle")
    func loadsSQLiteSink() throws {
        let path = try TestEnvironment.sqliteSinkLibrary()
        let loader = PluginLoader()
        let plugin = try loader.load(path: path, sinkName: "sqlite")
        #expect(plugin.name == "sqlite")
        #expect(plugin.version == "1.0.0")
        #expect(plugin.builtWith.hasPrefix("swift"))
        #expect(plugin.abiVersion.major == 1)
        #expect(plugin.hasFlush)
        #expect(try loader.load(path: path, sinkName: "other") === plugin)
    }

    @Test("A bare library name is found next to the running executable")
    func bareNameNextToExecutable() throws {
        _ = try TestEnvironment.sqliteSinkLibrary()
        let sink = SinkConfiguration(name: "bare", library: "libSQLiteSink.so", configDirectory: "/nonexistent")
        let plugin = try PluginLoader().load(sink, executableDirectory: TestEnvironment.pluginDirectory)
        #expect(plugin.name == "sqlite")
    }

    /// Compile-time variants of the broken plugin, the expected code and a fragment of the message.
    static let brokenVariants: [(define: String, code: PluginLoadError.Code, reason: String)] = [
        ("NO_ENTRY_POINT", .missingEntryPoint, "does not export sensor_plugin_query_v1"),
        ("WRONG_MAGIC", .invalidDescriptor, "descriptor magic is 0xdeadbeef, expected 0x534e5352"),
        ("ABI_2", .incompatibleABI, "built for plugin ABI 2.3, but this host supports ABI 1.2"),
        ("NULL_QUERY", .incompatibleABI, "returned NULL"),
        ("NO_CREATE", .invalidDescriptor, "lacks required callbacks: create"),
        ("TINY_DESCRIPTOR", .invalidDescriptor, "struct_size is 16 bytes"),
    ]

    @Test("Broken libraries are refused with the sink, the file and the reason", arguments: brokenVariants)
    func refusesBrokenLibrary(define: String, code: PluginLoadError.Code, reason: String) throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let path = try CPluginCompiler.compile(
            TestSinkSources.broken,
            name: "broken-\(define.lowercased())",
            defines: [define],
            in: directory
        )
        let error = try #require(throws: PluginLoadError.self) {
            try PluginLoader().load(path: path, sinkName: "broken-sink")
        }
        #expect(error.code == code)
        #expect(error.sinkName == "broken-sink")
        #expect(error.description.contains("sink \"broken-sink\""))
        #expect(error.description.contains(path))
        #expect(error.message.contains(reason), "\(error.message)")
    }

    @Test("A missing library lists the places it was looked for")
    func missingLibrary() throws {
        let sink = SinkConfiguration(name: "ghost", library: "libGhost.so", configDirectory: "/etc/sensor")
        let error = try #require(throws: PluginLoadError.self) {
            try PluginLoader().load(sink, executableDirectory: "/usr/lib/sensor")
        }
        #expect(error.code == .fileNotFound)
        #expect(error.description.contains("sink \"ghost\" (libGhost.so)"))
        #expect(error.message.contains("/usr/lib/sensor/libGhost.so, /etc/sensor/libGhost.so"))
    }

    @Test("A file that is not a shared library fails to open with the loader's explanation")
    func notALibrary() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let path = directory.appendingPathComponent("libText.so").path
        try "not an ELF file\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: PluginLoadError.self) {
            try PluginLoader().load(path: path, sinkName: "text")
        }
        #expect(error.code == .openFailed)
        #expect(error.description.contains("sink \"text\" (\(path))"))
        #expect(error.message.contains("cannot open the library"))
        #expect(error.message.contains(path))  // dlerror names the file
    }

    /// Test sink modes whose create() fails, the expected code and the plugin's log line.
    static let createFailures: [(mode: String, code: PluginLoadError.Code, logged: String)] = [
        ("bad_config", .badConfig, "mode bad_config rejects this configuration"),
        ("create_fatal", .createFailed, "cannot start"),
    ]

    @Test("create() failures abort startup with the plugin's reason in the log", arguments: createFailures)
    func createFailure(mode: String, code: PluginLoadError.Code, logged: String) async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let library = try CPluginCompiler.compile(TestSinkSources.configurable, name: "sink", in: directory)
        let healthy = SinkConfiguration(name: "healthy", library: library, config: ["mode": .string("ok")])
        let failing = SinkConfiguration(name: "failing", library: library, config: ["mode": .string(mode)])
        let logs = LogCapture()
        let metrics = TestMetrics()
        let error = try await #require(throws: PluginLoadError.self) {
            _ = try await SinkDispatcher(
                sinks: [healthy, failing],
                configuration: .init(sensorID: TestEvents.sensorID),
                logger: logs.logger,
                metricsFactory: metrics
            )
        }
        #expect(error.code == code)
        #expect(error.description.contains("sink \"failing\" (\(library))"))
        #expect(!logs.records(containing: logged, sink: "failing").isEmpty)
        // The sink started before the failing one was stopped again: flushed and destroyed.
        let destroyed = metrics.counterTotal(
            label: SinkMetricNames.pluginCounter,
            dimensions: [("sink", "healthy"), ("name", "destroyed")]
        )
        #expect(destroyed == 1)
    }

    @Test("An optional sink that fails is skipped and the others run")
    func optionalSinkSkipped() async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let library = try CPluginCompiler.compile(TestSinkSources.configurable, name: "sink", in: directory)
        let logs = LogCapture()
        let dispatcher = try await SinkDispatcher(
            sinks: [
                SinkConfiguration(name: "missing", library: "/nonexistent/libNothing.so", isRequired: false),
                SinkConfiguration(name: "off", library: "/nonexistent/libOff.so", isEnabled: false),
                SinkConfiguration(name: "ok", library: library),
            ],
            configuration: .init(sensorID: TestEvents.sensorID),
            logger: logs.logger,
            metricsFactory: TestMetrics()
        )
        #expect(dispatcher.sinkNames == ["ok"])
        #expect(!logs.records(containing: "optional sink skipped", sink: "missing").isEmpty)
        await dispatcher.shutdown()
    }
}
