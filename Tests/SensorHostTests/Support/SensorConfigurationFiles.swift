import Foundation
import TestSupport

/// The `sensor.toml` and `plugins.toml` of a real sensor started by a test: loopback on port 0, probing and
/// metrics off, a journal in the folder and one sink, plus the keys a test sets. One place, so that every
/// process-level test starts from the same sensor.
struct SensorConfigurationFiles {
    /// `sensor.toml`, table by table: keys and TOML literals.
    var tables: [String: [String: String]]
    /// The sink's library: a file name of the package's build, e.g. `libSQLiteSink.so`, or an absolute path.
    var sinkLibrary: String
    /// Host-level `[[sink]]` keys.
    var sinkHost: [String: String] = [:]
    /// `[sink.config]` keys.
    var sinkConfig: [String: String]

    /// A sensor named `sensorID` with one sink.
    init(sensorID: String, sinkLibrary: String, sinkConfig: [String: String]) {
        tables = [
            "sensor": ["sensor_id": "\"\(sensorID)\""],
            "network": ["listen_address": "\"127.0.0.1:0\""],
            "probing": ["enabled": "false"],
            "metrics": ["enabled": "false"],
            "plugins": ["file": "\"plugins.toml\"", "journal_dir": "\"journal\""],
        ]
        self.sinkLibrary = sinkLibrary
        self.sinkConfig = sinkConfig
    }

    /// Sets `key` of `[table]` to a TOML literal.
    mutating func set(_ table: String, _ key: String, _ literal: String) {
        tables[table, default: [:]][key] = literal
    }

    /// Writes both files into `directory`; returns the path of `sensor.toml`.
    func write(in directory: URL) throws -> String {
        let sensor = tables.keys.sorted().map { name in
            (["[\(name)]"] + Self.lines(tables[name] ?? [:])).joined(separator: "\n")
        }
        let library = sinkLibrary.hasPrefix("/") ? sinkLibrary : try BuiltPlugins.path(of: sinkLibrary)
        let plugins =
            ["[[sink]]", "name = \"sink\"", "library = \"\(library)\""]
            + Self.lines(sinkHost) + ["[sink.config]"] + Self.lines(sinkConfig)
        let file = directory.appendingPathComponent("sensor.toml")
        try sensor.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        try plugins.joined(separator: "\n").write(
            to: directory.appendingPathComponent("plugins.toml"), atomically: true, encoding: .utf8)
        return file.path
    }

    private static func lines(_ keys: [String: String]) -> [String] {
        keys.keys.sorted().map { "\($0) = \(keys[$0] ?? "")" }
    }
}
