import PluginSupport

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

    /// Parses the configuration; the error is a sentence for the host log.
    static func parse(_ json: UnsafeRawBufferPointer) -> Result<SQLiteSinkSettings, SettingsError> {
        do throws(SettingsError) {
            let reader = try SettingsReader(json: json)
            _ = try reader.refuseUnknownKeys(["path", "synchronous", "busy_timeout_ms"])
            guard let path = try reader.string("path") else {
                throw SettingsError("missing required key \"path\"")
            }
            let synchronous = try reader.choice("synchronous", of: ["normal", "full", "off"]) ?? "normal"
            let timeout = try reader.integer("busy_timeout_ms", default: 5000, in: 0...600_000)
            return .success(
                SQLiteSinkSettings(
                    path: path == ":memory:" ? path : reader.absolutePath(path),
                    synchronous: synchronous.uppercased(),
                    busyTimeoutMilliseconds: Int32(timeout)
                )
            )
        } catch {
            return .failure(error)
        }
    }
}
