import Foundation
public import SensorEvents

/// Decides which sinks run: the `[[sink]]` entries of `plugins.toml` when the file exists, otherwise the embedded
/// default (one SQLite sink writing to `[database] path`); plus the seed's `[export]` shortcut.
public enum SinkPlan {
    /// The sinks for `loaded`, or an error naming the file and key at fault.
    public static func sinks(for loaded: LoadedConfiguration) throws(ConfigurationError) -> [SinkConfiguration] {
        let configuration = loaded.configuration
        let pluginsPath = loaded.resolve(configuration.plugins.file)
        let databasePath = loaded.resolve(configuration.database.path)
        var sinks: [SinkConfiguration]
        if FileManager.default.fileExists(atPath: pluginsPath) {
            sinks = try PluginsFile(contentsOf: pluginsPath).sinks
            // A SQLite sink without its own `path` writes where [database] path says.
            for index in sinks.indices
            where sinks[index].library.contains("SQLiteSink") && sinks[index].config["path"] == nil {
                sinks[index].config["path"] = .string(databasePath)
            }
        } else {
            sinks = [
                SinkConfiguration(
                    name: "sqlite",
                    library: "libSQLiteSink.so",
                    config: ["path": .string(databasePath)],
                    configDirectory: loaded.directory
                )
            ]
        }
        if configuration.export.enabled {
            guard let endpoint = configuration.export.endpoint else {
                throw ConfigurationError(
                    file: loaded.file ?? "sensor.toml",
                    key: "export.endpoint",
                    reason: "is required when export.enabled = true"
                )
            }
            let library = configuration.export.backend == "firebase" ? "libFirebaseExport.so" : "libHTTPExport.so"
            sinks.append(
                SinkConfiguration(
                    name: "export-\(configuration.export.backend)",
                    library: library,
                    config: ["endpoint": .string(endpoint)],
                    configDirectory: loaded.directory
                )
            )
        }
        return sinks
    }
}
