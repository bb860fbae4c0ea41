import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("HTTP export: options (real libHTTPExport.so, real sockets)")
struct HTTPExportOptionsTests {
    /// gzip on or off, and the auth header given literally or through an environment variable.
    static let variants: [(gzip: Bool, fromEnvironment: Bool)] = [(true, false), (false, true), (true, true)]

    @Test("gzip bodies decode and the auth header arrives", arguments: variants)
    func gzipAndAuth(gzip: Bool, fromEnvironment: Bool) async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let token = "Bearer token-\(UUID().uuidString)"
        let variable = "HTTP_EXPORT_TEST_AUTH_\(UUID().uuidString.prefix(8))"
        var config = ["gzip": "\(gzip)"]
        if fromEnvironment {
            setenv(variable, "Authorization: \(token)", 1)
            config["auth_header_env"] = "\"\(variable)\""
        } else {
            config["auth_header"] = "\"Authorization: \(token)\""
        }
        let setup = try ExportSetup(port: receiver.port, config: config)
        let dispatcher = try await setup.start()
        let events = ExportSetup.events(80, padding: 200)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await dispatcher.shutdown()
        for request in receiver.requests {
            #expect(request.headers["authorization"] == token)
            #expect(request.headers["content-encoding"] == (gzip ? "gzip" : nil))
            #expect(request.body != nil)
        }
    }

    @Test("A host batch larger than batch_max_bytes is split into several requests, each within the limit")
    func splitsLargeBatches() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let setup = try ExportSetup(
            port: receiver.port, config: ["batch_max_bytes": "8192"],
            host: ["batch_max": "200", "flush_interval_ms": "3600000"])
        let dispatcher = try await setup.start()
        // About 1.2 KB of JSON each: one host batch of 200 needs about 30 requests of at most 8 KiB of events.
        let events = ExportSetup.events(200, padding: 1000)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await dispatcher.shutdown()
        let requests = receiver.requests
        #expect(requests.count >= 25)
        for request in requests {
            // The envelope around the events (schema, sensor id, batch id) takes less than 200 bytes.
            #expect((request.body?.count ?? .max) <= 8192 + 200 || request.eventIDs.count == 1)
        }
        #expect(receiver.deliveredIDs == events.map(\.id), "in order, each once")
        #expect(setup.hostCounter(SinkMetricNames.delivered) == 200)
    }

    @Test("Without the journal the host refuses to start HTTPExport (it keeps no events), naming [plugins] journal")
    func needsTheJournal() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let setup = try ExportSetup(port: receiver.port)
        let error = try await #require(throws: PluginLoadError.self) { try await setup.start(journal: false) }
        #expect(error.code == .journalRequired)
        #expect(error.description.contains("sink \"http\""))
        #expect(error.message.contains("[plugins] journal = true"), "\(error.message)")
        try await setup.start().shutdown()
    }

    @Test("Keys of the old plugin-side spool, retries and batching are accepted with a warning naming each")
    func retiredKeysWarn() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let retired = [
            "spool_dir": "\"http-spool\"", "spool_max_bytes": "65536", "retry_initial_ms": "500",
            "retry_max_ms": "60000", "dead_letter_path": "\"dead.jsonl\"", "batch_max_events": "50",
            "batch_interval_ms": "20",
        ]
        let setup = try ExportSetup(port: receiver.port, config: retired)
        let dispatcher = try await setup.start()
        let events = ExportSetup.events(20)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await dispatcher.shutdown()
        for key in retired.keys {
            let warnings = setup.logs.records(
                containing: "[sink.config] \(key) is no longer used", sink: ExportSetup.sinkName)
            #expect(warnings.count == 1 && warnings[0].level == .warning, "\(key)")
        }
        #expect(!setup.logs.records(containing: "set retry_initial_ms on the [[sink]] entry").isEmpty)
        #expect(
            !FileManager.default.fileExists(atPath: setup.sinks.directory.appendingPathComponent("http-spool").path))
    }

    /// Invalid `[sink.config]` lines and the reason the plugin must log.
    static let badConfigs: [(config: [String: String], logged: String)] = [
        (["colour": "\"blue\""], "unknown key(s) colour"),
        (["gzip": "1"], "\"gzip\" must be true or false"),
        (["batch_max_bytes": "true"], "\"batch_max_bytes\" must be an integer"),
        (["batch_max_bytes": "100"], "\"batch_max_bytes\" must be between 1024 and 67108864"),
        (["auth_header": "\"a: b\"", "auth_header_env": "\"HOME\""], "not both"),
        (["auth_header": "\"no colon\""], "must look like \"Name: value\""),
        (["auth_header_env": "\"HTTP_EXPORT_TEST_UNSET_VARIABLE\""], "is not set or empty"),
        (["request_timeout_ms": "0"], "\"request_timeout_ms\" must be between 1 and 3600000"),
        (["endpoint": "\"ftp://127.0.0.1/x\""], "\"endpoint\" must be an http:// or https:// URL"),
        (["endpoint": "\"http://\""], "\"endpoint\" must be an http:// or https:// URL"),
        (["endpoint": "3"], "\"endpoint\" must be a non-empty string"),
        (["endpoint": "\"\""], "\"endpoint\" must be a non-empty string"),
        (["endpoint": ""], "missing required key \"endpoint\""),
    ]

    @Test("Invalid [sink.config] values are rejected with BAD_CONFIG and the plugin's reason", arguments: badConfigs)
    func rejectsBadConfig(config: [String: String], logged: String) async throws {
        let setup = try ExportSetup(port: 9, config: config)
        let error = try await #require(throws: PluginLoadError.self) { try await setup.start() }
        #expect(error.code == .badConfig)
        #expect(
            !setup.logs.records(containing: logged, sink: ExportSetup.sinkName).isEmpty,
            "\(setup.logs.records.map(\.message))")
    }
}
