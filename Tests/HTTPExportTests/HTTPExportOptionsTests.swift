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

    @Test("A full spool answers RETRY (counted as spool_full); the host keeps the events and they all arrive")
    func fullSpoolAnswersRetry() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        try await receiver.goDown()
        let setup = try ExportSetup(port: receiver.port, config: ["spool_max_bytes": "65536"])
        let dispatcher = try await setup.start()
        let events = ExportSetup.events(200, padding: 1000)
        events.forEach(dispatcher.publish)
        #expect(
            try await eventually { setup.counter("spool_full") > 0 && setup.hostCounter(SinkMetricNames.retries) > 0 }
        )
        #expect(try #require(setup.gauge("spool_bytes")) <= 65536)
        #expect(!setup.logs.records(containing: "spool full").isEmpty)

        receiver.setBehaviour(.status(200))
        try await receiver.comeUp()
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await dispatcher.shutdown()
        #expect(setup.hostCounter(SinkMetricNames.dropped) == 0)
    }

    @Test("A second instance on a spool that is in use is refused")
    func spoolIsLocked() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let setup = try ExportSetup(port: receiver.port)
        let first = try await setup.start()
        let error = try await #require(throws: PluginLoadError.self) { try await setup.start() }
        #expect(error.code == .badConfig)
        #expect(!setup.logs.records(containing: "is another sink using this spool_dir?").isEmpty)
        await first.shutdown()
        try await setup.start().shutdown()
    }

    /// Invalid `[sink.config]` lines and the reason the plugin must log.
    static let badConfigs: [(config: [String: String], logged: String)] = [
        (["colour": "\"blue\""], "unknown key(s) colour"),
        (["gzip": "1"], "\"gzip\" must be true or false"),
        (["batch_max_events": "true"], "\"batch_max_events\" must be an integer"),
        (["batch_max_events": "0"], "\"batch_max_events\" must be between 1 and 100000"),
        (["auth_header": "\"a: b\"", "auth_header_env": "\"HOME\""], "not both"),
        (["auth_header": "\"no colon\""], "must look like \"Name: value\""),
        (["auth_header_env": "\"HTTP_EXPORT_TEST_UNSET_VARIABLE\""], "is not set or empty"),
        (["retry_initial_ms": "500", "retry_max_ms": "100"], "\"retry_max_ms\" must not be below"),
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
