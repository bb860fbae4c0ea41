public import Foundation
public import MetricsTestKit
public import SensorEvents

/// A scratch folder with a plugins.toml listing real sink libraries (found next to the test binary, see
/// ``BuiltPlugins``) with short host-side batching and backoff, plus the metrics and logs of the dispatchers
/// started from it.
public struct SinkSetup: Sendable {
    /// One `[[sink]]` entry.
    public struct Sink: Sendable {
        /// Its name.
        public var name: String
        /// The library file name, e.g. `libHTTPExport.so`.
        public var library: String
        /// `[sink.config]` lines: keys and TOML literals (an empty value leaves the key out).
        public var config: [String: String]

        /// An entry.
        public init(name: String, library: String, config: [String: String]) {
            self.name = name
            self.library = library
            self.config = config
        }
    }

    /// `[sink.config]` keys shared by the export sinks, for fast tests: small batches, short timeouts and backoffs.
    public static let fastExportDelivery = [
        "batch_max_events": "50", "batch_interval_ms": "20", "retry_initial_ms": "20", "retry_max_ms": "200",
        "connect_timeout_ms": "1000",
    ]

    /// The scratch folder (plugins.toml; relative paths of the sinks resolve against it).
    public let directory: URL
    /// The parsed plugins.toml.
    public let pluginsFile: PluginsFile
    /// Metrics of the dispatchers started from this setup.
    public let metrics = TestMetrics()
    /// Logs of the dispatchers started from this setup.
    public let logs = LogCapture()

    /// Writes a plugins.toml with `sinks` into a new scratch folder named after `prefix`.
    public init(_ sinks: [Sink], prefix: String) throws {
        directory = try BuiltPlugins.makeScratchDirectory(prefix: prefix)
        var text = ""
        for sink in sinks {
            let library = try BuiltPlugins.path(of: sink.library)
            let lines = sink.config.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map {
                "\($0.key) = \($0.value)"
            }
            text += """
                [[sink]]
                name = "\(sink.name)"
                library = "\(library)"
                batch_max = 50
                flush_interval_ms = 20
                retry_initial_ms = 20
                retry_max_ms = 200
                [sink.config]
                \(lines.joined(separator: "\n"))

                """
        }
        let file = directory.appendingPathComponent("plugins.toml").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        pluginsFile = try PluginsFile(contentsOf: file)
    }

    /// Starts a dispatcher for the plugins.toml as sensor `sensorID` (drain budget `drainTimeout`).
    public func start(sensorID: String, drainTimeout: Duration) async throws -> SinkDispatcher {
        try await SinkDispatcher(
            pluginsFile: pluginsFile,
            configuration: .init(sensorID: sensorID, drainTimeout: drainTimeout),
            logger: logs.logger,
            metricsFactory: metrics
        )
    }

    /// The plugin counter `name` of `sink` (`sensor_sink_plugin_counter_total{sink,name}`).
    public func counter(_ name: String, sink: String) -> Int64 {
        metrics.counterTotal(label: SinkMetricNames.pluginCounter, dimensions: [("sink", sink), ("name", name)])
    }

    /// The host counter `label` of `sink`.
    public func hostCounter(_ label: String, sink: String) -> Int64 {
        metrics.counterTotal(label: label, dimensions: [("sink", sink)])
    }

    /// The last value of the plugin gauge `name` of `sink`.
    public func gauge(_ name: String, sink: String) -> Double? {
        try? metrics.expectGauge(SinkMetricNames.pluginGauge, [("sink", sink), ("name", name)]).lastValue
    }
}
