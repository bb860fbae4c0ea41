public import Foundation
public import MetricsTestKit
public import SensorEvents

/// A scratch folder with a plugins.toml listing real sink libraries (found next to the test binary, see
/// ``BuiltPlugins``) with short host-side batching and backoff, an event journal and a dead-letter folder, plus
/// the metrics and logs of the dispatchers started from it.
///
/// The journal stays open for the setup's life and every dispatcher started from it uses it, one after the
/// other, as a sensor restarted in the same folder would (a journal is locked by the one process using it).
public struct SinkSetup: Sendable {
    /// One `[[sink]]` entry.
    public struct Sink: Sendable {
        /// Its name.
        public var name: String
        /// The library file name, e.g. `libHTTPExport.so`.
        public var library: String
        /// `[sink.config]` lines: keys and TOML literals (an empty value leaves the key out).
        public var config: [String: String]
        /// Host-level `[[sink]]` lines replacing or adding to the fast defaults (``hostDefaults``).
        public var host: [String: String]

        /// An entry.
        public init(name: String, library: String, config: [String: String], host: [String: String] = [:]) {
            self.name = name
            self.library = library
            self.config = config
            self.host = host
        }
    }

    /// `[[sink]]` keys for fast tests: small batches, a short flush interval and a fast host backoff (at most
    /// 200 ms, so a longer wait after a `Retry-After` can only be the server's).
    public static let hostDefaults = [
        "batch_max": "50", "flush_interval_ms": "20", "retry_initial_ms": "20", "retry_max_ms": "200",
    ]

    /// `[sink.config]` keys shared by the export sinks, for fast tests: a short connect timeout.
    public static let fastExportDelivery = ["connect_timeout_ms": "1000"]

    /// The scratch folder (plugins.toml; relative paths of the sinks resolve against it).
    public let directory: URL
    /// The parsed plugins.toml.
    public let pluginsFile: PluginsFile
    /// The journal every dispatcher of this setup uses (unless started without one).
    public let journal: EventJournal
    /// Metrics of the dispatchers started from this setup.
    public let metrics = TestMetrics()
    /// Logs of the dispatchers started from this setup.
    public let logs = LogCapture()

    /// The folder of the dead-letter files.
    public var deadLetterDirectory: URL { directory.appendingPathComponent("dead-letters") }

    /// Writes a plugins.toml with `sinks` into a new scratch folder named after `prefix`, and opens its journal.
    public init(_ sinks: [Sink], prefix: String) throws {
        directory = try BuiltPlugins.makeScratchDirectory(prefix: prefix)
        var text = ""
        for sink in sinks {
            let library = try BuiltPlugins.path(of: sink.library)
            let config = sink.config.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map {
                "\($0.key) = \($0.value)"
            }
            let host = Self.hostDefaults.merging(sink.host) { $1 }.sorted { $0.key < $1.key }.map {
                "\($0.key) = \($0.value)"
            }
            text += """
                [[sink]]
                name = "\(sink.name)"
                library = "\(library)"
                \(host.joined(separator: "\n"))
                [sink.config]
                \(config.joined(separator: "\n"))

                """
        }
        let file = directory.appendingPathComponent("plugins.toml").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        pluginsFile = try PluginsFile(contentsOf: file)
        journal = try EventJournal(
            configuration: .init(directory: directory.appendingPathComponent("journal").path), logger: logs.logger)
    }

    /// Starts a dispatcher for the plugins.toml as sensor `sensorID` (drain budget `drainTimeout`), with the
    /// setup's journal unless `journal` is false.
    public func start(sensorID: String, drainTimeout: Duration, journal: Bool = true) async throws -> SinkDispatcher {
        try await SinkDispatcher(
            pluginsFile: pluginsFile,
            configuration: .init(
                sensorID: sensorID, drainTimeout: drainTimeout, journal: journal ? self.journal : nil,
                deadLetterDirectory: deadLetterDirectory.path),
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

    /// The lines of `sink`'s dead-letter file, each a JSON object (none if there is no file).
    public func deadLetters(sink: String) throws -> [[String: Any]] {
        let file = deadLetterDirectory.appendingPathComponent("\(sink).jsonl")
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        // A line that is not a JSON object reads as an empty one, which no test expects.
        return try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        }
    }
}
