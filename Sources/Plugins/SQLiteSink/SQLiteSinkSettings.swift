import Foundation

/// The SQLite sink's `[sink.config]` keys, parsed from the JSON object the host passes to `create()`:
///
/// - `path` (required): the database file; a relative path is resolved against `_config_dir` (the folder of
///   plugins.toml, added by the host). `:memory:` is passed through.
/// - `synchronous`: `"normal"` (default; durable at checkpoints, fast in WAL mode), `"full"` or `"off"`.
/// - `busy_timeout_ms`: how long a write waits for another connection's lock (default 5000).
///
/// Unknown keys are rejected (they are usually typos); keys starting with `_` belong to the host and are ignored.
struct SQLiteSinkSettings {
    /// The absolute database path (or `:memory:`).
    var path: String
    /// The `PRAGMA synchronous` value: `NORMAL`, `FULL` or `OFF`.
    var synchronous: String
    /// How long a write waits for a lock held by another connection.
    var busyTimeoutMilliseconds: Int32

    private static let synchronousModes = ["normal": "NORMAL", "full": "FULL", "off": "OFF"]

    /// Parses the configuration; the error is a sentence for the host log.
    static func parse(_ json: UnsafeRawBufferPointer) -> Result<SQLiteSinkSettings, SettingsError> {
        let raw: RawSettings
        do {
            raw = try JSONDecoder().decode(RawSettings.self, from: Data(json))
        } catch let error as SettingsError {
            return .failure(error)
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure(SettingsError("missing required key \"\(key.stringValue)\""))
        } catch let DecodingError.typeMismatch(type, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            return .failure(SettingsError("\"\(key)\" must be \(type == String.self ? "a string" : "an integer")"))
        } catch let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            return .failure(SettingsError("invalid value for \"\(key)\": \(context.debugDescription)"))
        } catch {
            return .failure(SettingsError("the configuration is not a valid JSON object: \(error)"))
        }
        guard !raw.path.isEmpty else {
            return .failure(SettingsError("\"path\" must not be empty"))
        }
        let mode = raw.synchronous ?? "normal"
        guard let synchronous = synchronousModes[mode.lowercased()] else {
            return .failure(SettingsError("\"synchronous\" must be \"normal\", \"full\" or \"off\", got \"\(mode)\""))
        }
        let timeout = raw.busyTimeoutMilliseconds ?? 5000
        guard (0...600_000).contains(timeout) else {
            return .failure(SettingsError("\"busy_timeout_ms\" must be between 0 and 600000, got \(timeout)"))
        }
        var path = raw.path
        if !path.hasPrefix("/") && path != ":memory:" {
            let base = raw.configDirectory ?? FileManager.default.currentDirectoryPath
            path =
                URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true))
                .standardizedFileURL.path
        }
        return .success(
            SQLiteSinkSettings(path: path, synchronous: synchronous, busyTimeoutMilliseconds: Int32(timeout))
        )
    }
}

/// Why the configuration was rejected.
struct SettingsError: Error {
    /// A sentence for the host log.
    let message: String

    /// Creates an error with its message.
    init(_ message: String) {
        self.message = message
    }
}

private struct RawSettings: Decodable {
    let path: String
    let synchronous: String?
    let busyTimeoutMilliseconds: Int?
    let configDirectory: String?

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let knownKeys: Set<String> = ["path", "synchronous", "busy_timeout_ms"]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        let unknown = container.allKeys.map(\.stringValue).filter {
            !$0.hasPrefix("_") && !Self.knownKeys.contains($0)
        }
        guard unknown.isEmpty else {
            throw SettingsError(
                "unknown key(s) \(unknown.sorted().joined(separator: ", ")); known keys are busy_timeout_ms, path, "
                    + "synchronous"
            )
        }
        path = try container.decode(String.self, forKey: Key(stringValue: "path"))
        synchronous = try container.decodeIfPresent(String.self, forKey: Key(stringValue: "synchronous"))
        busyTimeoutMilliseconds = try container.decodeIfPresent(Int.self, forKey: Key(stringValue: "busy_timeout_ms"))
        configDirectory = try container.decodeIfPresent(String.self, forKey: Key(stringValue: "_config_dir"))
    }
}
