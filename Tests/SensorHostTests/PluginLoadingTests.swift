import Foundation
import SensorEvents
import SensorHost
import Testing

@Suite("Sinks chosen by plugins.toml")
struct PluginLoadingTests {
    @Test("A missing plugin library stops startup with an error naming the sink, the file and the reason")
    func missingLibrary() async throws {
        let plugins = """
            [[sink]]
            name = "archive"
            library = "libDoesNotExist.so"
            """
        await #expect {
            try await SensorHarness.withSensor(plugins: plugins) { _ in }
        } throws: { error in
            let text = String(describing: error)
            return error is PluginLoadError && text.contains("archive") && text.contains("libDoesNotExist.so")
        }
    }

    @Test("An optional sink that fails is skipped; the sensor runs on the others")
    func optionalSinkSkipped() async throws {
        let plugins = """
            [[sink]]
            name = "sqlite"
            library = "libSQLiteSink.so"
            [sink.config]
            path = "sensor-data.db"

            [[sink]]
            name = "archive"
            library = "libDoesNotExist.so"
            required = false
            """
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]], plugins: plugins) { sensor in
            #expect(sensor.application.dispatcher.sinkNames == ["sqlite"])
            let run = try await sensor.pythonClient(["--scenario", "node"])
            #expect(run.status == 0)
            _ = try await sensor.waitForRows()
        }
    }

    @Test("[plugins] journal = false stops startup when a sink needs the journal (HTTPExport), naming the key")
    func exportNeedsTheJournal() async throws {
        let plugins = """
            [[sink]]
            name = "export"
            library = "libHTTPExport.so"
            [sink.config]
            endpoint = "http://127.0.0.1:9/events"
            """
        await #expect {
            try await SensorHarness.withSensor(["plugins": ["journal": "false"]], plugins: plugins) { _ in }
        } throws: { error in
            guard let error = error as? PluginLoadError else { return false }
            return error.code == .journalRequired && error.sinkName == "export"
                && error.message.contains("[plugins] journal = true")
        }
    }

    @Test("Without plugins.toml the sensor writes to [database] path through the SQLite sink")
    func embeddedDefault() throws {
        let directory = NSTemporaryDirectory() + "sinkplan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/sensor.toml"
        try
            "[database]\npath = \"events.db\"\n[export]\nenabled = true\nendpoint = \"https://collector.example/events\""
            .write(
                toFile: file, atomically: true, encoding: .utf8)
        let sinks = try SinkPlan.sinks(for: try ConfigurationLoader.load(file: file, environment: [:]))
        #expect(sinks.map(\.name) == ["sqlite", "export-http"])
        #expect(sinks[0].config["path"] == .string(directory + "/events.db"))
        #expect(sinks[1].library == "libHTTPExport.so")
    }
}
