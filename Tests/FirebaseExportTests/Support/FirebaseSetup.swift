import Foundation
import SensorEvents
import TestSupport

/// A plugins.toml with the real Firebase export sink pointed at a ``FakeFirebase`` (and, for the test of both
/// exports in one process, other sinks beside it), plus the metrics and logs of the dispatchers started from it.
struct FirebaseSetup {
    /// The Firebase sink's name.
    static let sinkName = "firebase"
    /// The plugins.toml, metrics and logs.
    let sinks: SinkSetup

    /// Logs of the dispatchers started from this setup.
    var logs: LogCapture { sinks.logs }

    /// A Firebase sink for `fake` with `target` and `config` (TOML literals; an empty value removes a key), using
    /// the service-account key unless `config` sets other credentials; short timeouts and backoffs.
    static func firebase(_ fake: FakeFirebase, target: String, config: [String: String] = [:]) throws
        -> SinkSetup.Sink
    {
        let account = try TestServiceAccount.shared.get()
        var defaults = SinkSetup.fastExportDelivery.merging(["target": "\"\(target)\""]) { $1 }
        if config["auth_token"] == nil && config["auth_token_env"] == nil {
            defaults["credentials_file"] = "\"\(account.keyFile)\""
            defaults["token_uri"] = "\"\(fake.baseURL)/token\""
        }
        if target == "firestore" {
            defaults["firestore_base_url"] = "\"\(fake.baseURL)\""
            defaults["collection"] = "\"sensors/eu/events\""
        } else {
            defaults["database_url"] = "\"\(fake.baseURL)\""
            defaults["path"] = "\"kaspa/events\""
        }
        return SinkSetup.Sink(name: sinkName, library: "libFirebaseExport.so", config: defaults.merging(config) { $1 })
    }

    /// A plugins.toml with `sinks`.
    init(_ sinks: [SinkSetup.Sink]) throws {
        self.sinks = try SinkSetup(sinks, prefix: "firebase-export-tests")
    }

    /// Starts a dispatcher for the plugins.toml.
    func start() async throws -> SinkDispatcher {
        try await sinks.start(sensorID: "sensor-firebase", drainTimeout: .seconds(2))
    }

    /// The plugin counter `name` of `sink`.
    func counter(_ name: String, sink: String = sinkName) -> Int64 { sinks.counter(name, sink: sink) }

    /// The host counter `label` of `sink`.
    func hostCounter(_ label: String, sink: String = sinkName) -> Int64 { sinks.hostCounter(label, sink: sink) }

    /// The lines of the Firebase sink's dead-letter file.
    func deadLetters() throws -> [[String: Any]] { try sinks.deadLetters(sink: Self.sinkName) }

    /// `count` events numbered from `start`, with a text, an integer, a float, a boolean and a null field.
    static func events(_ count: Int, from start: Int = 0) -> [SensorEvent] {
        (start..<(start + count)).map(event)
    }

    private static func event(_ index: Int) -> SensorEvent {
        let fields: [EventField] = [
            EventField("index", .int(Int64(index))),
            EventField("remote_ip", .text("10.0.0.\(index % 250)")),
            EventField("ratio", .float(Double(index) + 0.5)),
            EventField("probe_cached", .bool(index % 2 == 0)),
            EventField("probe_error", .null),
        ]
        return SensorEvent(
            kind: SensorEvent.Kind(rawValue: "connection"),
            sensorID: "sensor-firebase",
            timeUnixMicros: 1_700_000_000_000_000 + Int64(index),
            fields: fields
        )
    }
}
