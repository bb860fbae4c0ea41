import Foundation
import Logging
import MetricsTestKit
import SensorEvents
import TestSupport

/// A scratch folder with a plugins.toml for the real HTTP export sink pointed at a test receiver, plus the
/// metrics and logs of the dispatchers started from it.
struct ExportSetup {
    /// The sink's name in plugins.toml.
    static let sinkName = "http"
    /// The scratch folder (plugins.toml; the spool defaults to `http-spool-http` in it).
    let directory: URL
    /// The parsed plugins.toml.
    let pluginsFile: PluginsFile
    /// Metrics of the dispatchers started from this setup.
    let metrics = TestMetrics()
    /// Logs of the dispatchers started from this setup.
    let logs = LogCapture()

    /// The default spool folder.
    var spoolDirectory: URL { directory.appendingPathComponent("http-spool-\(Self.sinkName)") }

    /// A plugins.toml whose sink posts to `port` with short timeouts and backoffs; `config` adds or replaces
    /// `[sink.config]` keys (values are TOML literals; an empty value removes the key).
    init(port: UInt16, config: [String: String] = [:]) throws {
        let library = try TestEnvironment.httpExportLibrary()
        directory = try TestEnvironment.makeTemporaryDirectory()
        let file = directory.appendingPathComponent("plugins.toml").path
        let defaults = [
            "endpoint": "\"http://127.0.0.1:\(port)/ingest\"", "batch_max_events": "50", "batch_interval_ms": "20",
            "retry_initial_ms": "20", "retry_max_ms": "200", "connect_timeout_ms": "1000",
        ]
        let lines = defaults.merging(config) { $1 }.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map {
            "\($0.key) = \($0.value)"
        }
        try """
        [[sink]]
        name = "\(Self.sinkName)"
        library = "\(library)"
        batch_max = 50
        flush_interval_ms = 20
        retry_initial_ms = 20
        retry_max_ms = 200
        [sink.config]
        \(lines.joined(separator: "\n"))
        """.write(toFile: file, atomically: true, encoding: .utf8)
        pluginsFile = try PluginsFile(contentsOf: file)
    }

    /// Starts a dispatcher for the plugins.toml (drain budget `drainTimeout`).
    func start(drainTimeout: Duration = .seconds(2)) async throws -> SinkDispatcher {
        try await SinkDispatcher(
            pluginsFile: pluginsFile,
            configuration: .init(sensorID: "sensor-http", drainTimeout: drainTimeout),
            logger: logs.logger,
            metricsFactory: metrics
        )
    }

    /// The plugin counter `name` (`sensor_sink_plugin_counter_total{sink="http",name}`).
    func counter(_ name: String) -> Int64 {
        metrics.counterTotal(
            label: SinkMetricNames.pluginCounter, dimensions: [("sink", Self.sinkName), ("name", name)])
    }

    /// The host counter `label` of the sink.
    func hostCounter(_ label: String) -> Int64 {
        metrics.counterTotal(label: label, dimensions: [("sink", Self.sinkName)])
    }

    /// The last value of the plugin gauge `name`.
    func gauge(_ name: String) -> Double? {
        try? metrics.expectGauge(SinkMetricNames.pluginGauge, [("sink", Self.sinkName), ("name", name)]).lastValue
    }

    /// `count` events numbered from `start`, each with `padding` bytes of text.
    static func events(_ count: Int, from start: Int = 0, padding: Int = 0) -> [SensorEvent] {
        (start..<(start + count)).map { index in
            SensorEvent(
                kind: SensorEvent.Kind(rawValue: "test"),
                sensorID: "sensor-http",
                timeUnixMicros: 1_700_000_000_000_000 + Int64(index),
                fields: [
                    EventField("index", .int(Int64(index))),
                    EventField("padding", .text(String(repeating: "x", count: padding))),
                ]
            )
        }
    }
}

extension SensorEvent {
    /// The event id as the JSON carries it.
    var id: String { eventID.uuidString.lowercased() }
}
