import Foundation
import SensorEvents
import TestSupport

/// A scratch folder with a plugins.toml for the real HTTP export sink pointed at a test receiver, its journal
/// and dead-letter folder, plus the metrics and logs of the dispatchers started from it.
struct ExportSetup {
    /// The sink's name in plugins.toml.
    static let sinkName = "http"
    /// The plugins.toml, journal, metrics and logs.
    let sinks: SinkSetup

    /// Logs of the dispatchers started from this setup.
    var logs: LogCapture { sinks.logs }

    /// The HTTP export entry posting to `port` with short timeouts and the fast host settings; `config` adds or
    /// replaces `[sink.config]` keys and `host` `[[sink]]` keys (values are TOML literals; an empty config value
    /// removes the key).
    static func sink(port: UInt16, config: [String: String] = [:], host: [String: String] = [:]) -> SinkSetup.Sink {
        let defaults = SinkSetup.fastExportDelivery.merging(["endpoint": "\"http://127.0.0.1:\(port)/ingest\""]) { $1 }
        return SinkSetup.Sink(
            name: sinkName, library: "libHTTPExport.so", config: defaults.merging(config) { $1 }, host: host)
    }

    /// A plugins.toml with the HTTP export sink alone (see ``sink(port:config:host:)``).
    init(port: UInt16, config: [String: String] = [:], host: [String: String] = [:]) throws {
        sinks = try SinkSetup([Self.sink(port: port, config: config, host: host)], prefix: "http-export-tests")
    }

    /// Starts a dispatcher for the plugins.toml (drain budget `drainTimeout`), with the journal unless `journal`
    /// is false.
    func start(drainTimeout: Duration = .seconds(2), journal: Bool = true) async throws -> SinkDispatcher {
        try await sinks.start(sensorID: "sensor-http", drainTimeout: drainTimeout, journal: journal)
    }

    /// The plugin counter `name` (`sensor_sink_plugin_counter_total{sink="http",name}`).
    func counter(_ name: String) -> Int64 { sinks.counter(name, sink: Self.sinkName) }

    /// The host counter `label` of the sink.
    func hostCounter(_ label: String) -> Int64 { sinks.hostCounter(label, sink: Self.sinkName) }

    /// The lines of the sink's dead-letter file.
    func deadLetters() throws -> [[String: Any]] { try sinks.deadLetters(sink: Self.sinkName) }

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
