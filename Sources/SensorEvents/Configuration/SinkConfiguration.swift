public import Foundation

/// One `[[sink]]` entry of `plugins.toml`: which plugin library to load, how the host queues and retries events
/// for it, and the opaque `[sink.config]` table handed to the plugin's `create()`.
public struct SinkConfiguration: Sendable, Hashable {
    /// The instance name: unique within the file, used in logs and as the `sink` metric label.
    public var name: String
    /// The library as written in the file: an absolute path, a path relative to ``configDirectory``, or a bare file
    /// name looked up next to the running executable and then in ``configDirectory``.
    public var library: String
    /// Whether the sink is used at all (`enabled`, default `true`).
    public var isEnabled: Bool
    /// Whether a load or create failure aborts startup (`required`, default `true`); otherwise it is logged and the
    /// sink is skipped.
    public var isRequired: Bool
    /// The most events accepted but not yet finished by the sink (`queue_capacity`); more are dropped and counted.
    public var queueCapacity: Int
    /// The most events in one `write_batch` call (`batch_max`).
    public var batchMax: Int
    /// How long a partial batch may wait for more events before it is delivered (`flush_interval_ms`).
    public var flushInterval: Duration
    /// The first backoff after `SENSOR_RETRY` (`retry_initial_ms`); doubled after every further retry.
    public var retryInitial: Duration
    /// The largest backoff after `SENSOR_RETRY` (`retry_max_ms`).
    public var retryMax: Duration
    /// How many consecutive `SENSOR_ERROR` results disable the instance (`disable_after_errors`); 0 never does.
    public var disableAfterErrors: Int
    /// How long one `write_batch` call may run before the sink is reported unhealthy (`write_deadline_ms`): the
    /// call is not interrupted (it is a C call), and the sink is healthy again once a call returns in time.
    public var writeDeadline: Duration
    /// How many times the process may die inside `write_batch` on the same batch before the host sets that batch
    /// aside in the dead-letter file and moves on (`dead_letter_after_crashes`); 0 never does.
    public var deadLetterAfterCrashes: Int
    /// The `[sink.config]` table, opaque to the host; see ``pluginConfigurationJSON()``.
    public var config: [String: ConfigValue]
    /// The absolute folder of the `plugins.toml` file: relative library paths, and the plugin's own relative paths
    /// (through the `_config_dir` key), are resolved against it.
    public var configDirectory: String

    /// The default ``queueCapacity``.
    public static let defaultQueueCapacity = 100_000
    /// The default ``batchMax``.
    public static let defaultBatchMax = 500
    /// The default ``flushInterval``.
    public static let defaultFlushInterval = Duration.milliseconds(1000)
    /// The default ``retryInitial``.
    public static let defaultRetryInitial = Duration.milliseconds(200)
    /// The default ``retryMax``.
    public static let defaultRetryMax = Duration.milliseconds(30_000)
    /// The default ``disableAfterErrors``.
    public static let defaultDisableAfterErrors = 10
    /// The default ``writeDeadline``: 60 s, above an export's own connect (5 s) plus request (30 s) timeouts,
    /// since exporters deliver inside the call.
    public static let defaultWriteDeadline = Duration.milliseconds(60_000)
    /// The default ``deadLetterAfterCrashes``.
    public static let defaultDeadLetterAfterCrashes = 3

    /// Creates a sink configuration; every host-level setting has the documented default.
    public init(
        name: String,
        library: String,
        isEnabled: Bool = true,
        isRequired: Bool = true,
        queueCapacity: Int = SinkConfiguration.defaultQueueCapacity,
        batchMax: Int = SinkConfiguration.defaultBatchMax,
        flushInterval: Duration = SinkConfiguration.defaultFlushInterval,
        retryInitial: Duration = SinkConfiguration.defaultRetryInitial,
        retryMax: Duration = SinkConfiguration.defaultRetryMax,
        disableAfterErrors: Int = SinkConfiguration.defaultDisableAfterErrors,
        writeDeadline: Duration = SinkConfiguration.defaultWriteDeadline,
        deadLetterAfterCrashes: Int = SinkConfiguration.defaultDeadLetterAfterCrashes,
        config: [String: ConfigValue] = [:],
        configDirectory: String = FileManager.default.currentDirectoryPath
    ) {
        self.name = name
        self.library = library
        self.isEnabled = isEnabled
        self.isRequired = isRequired
        self.queueCapacity = queueCapacity
        self.batchMax = batchMax
        self.flushInterval = flushInterval
        self.retryInitial = retryInitial
        self.retryMax = retryMax
        self.disableAfterErrors = disableAfterErrors
        self.writeDeadline = writeDeadline
        self.deadLetterAfterCrashes = deadLetterAfterCrashes
        self.config = config
        self.configDirectory = configDirectory
    }

    /// The key the host adds to the plugin's configuration JSON: the absolute folder of `plugins.toml`, so the
    /// plugin can resolve relative paths of its own (such as the SQLite sink's `path`) against it.
    public static let configDirectoryKey = "_config_dir"
    /// The key the host adds to the plugin's configuration JSON: the sink's ``name``.
    public static let sinkNameKey = "_sink_name"

    /// The JSON object handed to the plugin's `create()`: the `[sink.config]` table plus the host-added keys
    /// ``configDirectoryKey`` and ``sinkNameKey``. Keys starting with `_` are reserved for the host.
    public func pluginConfigurationJSON() -> String {
        var table = config
        table[Self.configDirectoryKey] = .string(configDirectory)
        table[Self.sinkNameKey] = .string(name)
        return ConfigValue.table(table).jsonText()
    }

    /// The paths tried, in order, for ``library``: the absolute path itself; a path with a `/` relative to
    /// ``configDirectory``; a bare file name next to the running executable and then in ``configDirectory``.
    public func libraryCandidates(executableDirectory: String?) -> [String] {
        if library.hasPrefix("/") {
            return [library]
        }
        let besideConfig = Self.join(configDirectory, library)
        if library.contains("/") {
            return [besideConfig]
        }
        if let executableDirectory {
            return [Self.join(executableDirectory, library), besideConfig]
        }
        return [besideConfig]
    }

    private static func join(_ directory: String, _ name: String) -> String {
        URL(fileURLWithPath: name, relativeTo: URL(fileURLWithPath: directory, isDirectory: true))
            .standardizedFileURL.path
    }
}
