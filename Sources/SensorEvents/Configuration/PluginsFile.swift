import Foundation
internal import TOMLKit

/// The parsed `plugins.toml`: the sink instances the host loads, in file order.
///
/// ```toml
/// [[sink]]
/// name = "sqlite"                 # unique; used in logs and as the `sink` metric label
/// library = "libSQLiteSink.so"    # absolute, relative to this file's folder, or a bare name (see below)
/// enabled = true                  # default true
/// required = true                 # default true: a load/create failure aborts startup; false: log and skip
/// queue_capacity = 100000         # bounded per-sink queue; overflow is counted and logged as drops
/// batch_max = 500                 # at most this many events per write_batch (<= queue_capacity)
/// flush_interval_ms = 1000        # a partial batch waits at most this long
/// retry_initial_ms = 200          # backoff after SENSOR_RETRY, doubled up to retry_max_ms, with jitter
/// retry_max_ms = 30000
/// disable_after_errors = 10       # consecutive SENSOR_ERROR results that disable the instance; 0 = never
/// write_deadline_ms = 60000       # a write_batch running longer marks the sink unhealthy (/health, metrics)
/// dead_letter_after_crashes = 3   # process deaths inside write_batch on one batch before it is dead-lettered
/// [sink.config]                   # opaque to the host, handed to create() as a JSON object
/// path = "sensor-data.db"
/// ```
///
/// A bare library file name is looked up next to the running executable, then in the folder of `plugins.toml`.
/// The host adds `_config_dir` (the absolute folder of `plugins.toml`) and `_sink_name` to the JSON object handed
/// to `create()`, so plugins can resolve their own relative paths; `config` keys starting with `_` are reserved.
///
/// Parsing is strict: unknown keys, wrong types, out-of-range values and duplicate names throw a
/// ``ConfigurationError`` whose key names the entry by its 0-based position, e.g. `sink[1].queue_capacity`.
public struct PluginsFile: Sendable, Hashable {
    /// The file as the user named it (used in error messages).
    public var file: String
    /// The absolute folder of the file.
    public var directory: String
    /// The `[[sink]]` entries, in file order (including disabled ones).
    public var sinks: [SinkConfiguration]

    /// Creates a plugins file from already-built sink configurations.
    public init(file: String, directory: String, sinks: [SinkConfiguration]) {
        self.file = file
        self.directory = directory
        self.sinks = sinks
    }

    /// Reads and parses the file at `path` (relative paths are resolved against the current directory).
    public init(contentsOf path: String) throws(ConfigurationError) {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigurationError(file: path, key: "", reason: "cannot read the file: \(error.localizedDescription)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigurationError(file: path, key: "", reason: "the file is not valid UTF-8")
        }
        try self.init(parsing: text, file: path, directory: url.deletingLastPathComponent().path)
    }

    /// Parses `text` as the contents of `file`, whose absolute folder is `directory`.
    public init(parsing text: String, file: String, directory: String) throws(ConfigurationError) {
        try TOMLDocument.check(text, file: file)
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let position = "line \(error.source.begin.line), column \(error.source.begin.column)"
            throw ConfigurationError(file: file, key: "", reason: "not valid TOML (\(position)): \(error.description)")
        } catch {
            throw ConfigurationError(file: file, key: "", reason: "not valid TOML: \(error)")
        }
        if let key = root.keys.first(where: { $0 != "sink" }) {
            throw ConfigurationError(file: file, key: key, reason: "unknown key; the file only holds [[sink]] entries")
        }
        var sinks: [SinkConfiguration] = []
        if let value = root["sink"] {
            guard let entries = value.array else {
                throw ConfigurationError(
                    file: file,
                    key: "sink",
                    reason: "must be an array of tables (write [[sink]], not [sink]), got \(value.type)"
                )
            }
            var names: [String: Int] = [:]
            for (index, entry) in entries.enumerated() {
                let path = "sink[\(index)]"
                guard let table = entry.table else {
                    throw ConfigurationError(file: file, key: path, reason: "must be a table, got \(entry.type)")
                }
                let reader = SinkTableReader(file: file, path: path, table: table)
                let sink = try reader.read(configDirectory: directory)
                if let first = names[sink.name] {
                    throw ConfigurationError(
                        file: file,
                        key: "\(path).name",
                        reason: "duplicate sink name \"\(sink.name)\" (already used by sink[\(first)])"
                    )
                }
                names[sink.name] = index
                sinks.append(sink)
            }
        }
        self.init(file: file, directory: directory, sinks: sinks)
    }
}

/// Reads one `[[sink]]` table strictly; every error names `sink[i].key`.
private struct SinkTableReader {
    let file: String
    let path: String
    let table: TOMLTable

    static let knownKeys: Set<String> = [
        "name", "library", "enabled", "required", "queue_capacity", "batch_max", "flush_interval_ms",
        "retry_initial_ms", "retry_max_ms", "disable_after_errors", "write_deadline_ms",
        "dead_letter_after_crashes", "config",
    ]
    static let maximumMilliseconds = 3_600_000

    func read(configDirectory: String) throws(ConfigurationError) -> SinkConfiguration {
        if let key = table.keys.first(where: { !Self.knownKeys.contains($0) }) {
            throw error(key, "unknown key; known keys are \(Self.knownKeys.sorted().joined(separator: ", "))")
        }
        let name = try string("name")
        guard name.count <= 64, name.utf8.allSatisfy(Self.isNameByte) else {
            throw error("name", "must be 1 to 64 characters from A-Z a-z 0-9 _ . -, got \"\(name)\"")
        }
        let library = try string("library")
        let capacity = try integer("queue_capacity", 1...10_000_000, SinkConfiguration.defaultQueueCapacity)
        let batchMax = try integer("batch_max", 1...100_000, SinkConfiguration.defaultBatchMax)
        guard batchMax <= capacity else {
            throw error("batch_max", "must not exceed queue_capacity (\(capacity)), got \(batchMax)")
        }
        let flushMs = try integer("flush_interval_ms", 1...Self.maximumMilliseconds, 1000)
        let retryInitialMs = try integer("retry_initial_ms", 1...Self.maximumMilliseconds, 200)
        let retryMaxMs = try integer("retry_max_ms", retryInitialMs...Self.maximumMilliseconds, 30_000)
        let config: [String: ConfigValue]
        switch table["config"] {
        case nil:
            config = [:]
        case let value?:
            guard let configTable = value.table else {
                throw error("config", "must be a table ([sink.config]), got \(value.type)")
            }
            config = try TOMLConversion.table(configTable, file: file, path: "\(path).config")
            if let key = config.keys.sorted().first(where: { $0.hasPrefix("_") }) {
                throw error("config.\(key)", "keys starting with \"_\" are reserved for the host")
            }
        }
        return SinkConfiguration(
            name: name,
            library: library,
            isEnabled: try bool("enabled", default: true),
            isRequired: try bool("required", default: true),
            queueCapacity: capacity,
            batchMax: batchMax,
            flushInterval: .milliseconds(flushMs),
            retryInitial: .milliseconds(retryInitialMs),
            retryMax: .milliseconds(retryMaxMs),
            disableAfterErrors: try integer("disable_after_errors", 0...1_000_000, 10),
            writeDeadline: .milliseconds(
                try integer("write_deadline_ms", 1...Self.maximumMilliseconds, 60_000)),
            deadLetterAfterCrashes: try integer("dead_letter_after_crashes", 0...1000, 3),
            config: config,
            configDirectory: configDirectory
        )
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private func error(_ key: String, _ reason: String) -> ConfigurationError {
        ConfigurationError(file: file, key: "\(path).\(key)", reason: reason)
    }

    private func string(_ key: String) throws(ConfigurationError) -> String {
        guard let value = table[key] else {
            throw error(key, "is required")
        }
        guard let text = value.string else {
            throw error(key, "must be a string, got \(value.type)")
        }
        guard !text.isEmpty, !text.utf8.contains(0) else {
            throw error(key, "must be a non-empty string without NUL characters")
        }
        return text
    }

    private func bool(_ key: String, default defaultValue: Bool) throws(ConfigurationError) -> Bool {
        guard let value = table[key] else { return defaultValue }
        guard let flag = value.bool else {
            throw error(key, "must be true or false, got \(value.type)")
        }
        return flag
    }

    private func integer(
        _ key: String,
        _ range: ClosedRange<Int>,
        _ defaultValue: Int
    ) throws(ConfigurationError) -> Int {
        guard let value = table[key] else { return defaultValue }
        guard let number = value.int else {
            throw error(key, "must be an integer, got \(value.type)")
        }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }
}
