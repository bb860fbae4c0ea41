/// One `[[sink]]` entry of a generated plugins.toml, with the production defaults of `--generate-config`
/// (queue 100,000, batches of 500, flushed every second).
struct SinkEntry {
    /// The sink's name.
    var name: String
    /// The library file next to the executables.
    var library: String
    /// `[sink.config]` keys with their TOML literals, in order.
    var config: [(key: String, value: String)]
    /// Events per write_batch call.
    var batchMax = 500

    /// SQLiteSink into `events.db`.
    static let sqlite = SinkEntry(name: "sqlite", library: "libSQLiteSink.so", config: [("path", "\"events.db\"")])

    /// JSONLinesSink into `events.jsonl` (plain file writes: no cache of its own in memory).
    static let jsonLines = SinkEntry(
        name: "jsonl", library: "libJSONLinesSink.so", config: [("path", "\"events.jsonl\""), ("fsync", "\"batch\"")])

    /// The TOML text.
    var toml: String {
        var lines = [
            "[[sink]]", "name = \"\(name)\"", "library = \"\(library)\"", "queue_capacity = 100000",
            "batch_max = \(batchMax)",
            "flush_interval_ms = 1000", "[sink.config]",
        ]
        lines += config.map { "\($0.key) = \($0.value)" }
        return lines.joined(separator: "\n") + "\n\n"
    }
}
