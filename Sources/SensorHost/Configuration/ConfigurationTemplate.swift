import Foundation

/// Writes the commented `sensor.toml` and `plugins.toml` of `--generate-config`.
public enum ConfigurationTemplate {
    /// `sensor.toml` with every key, its help text and its default value.
    public static func sensorFile(_ configuration: SensorConfiguration = SensorConfiguration()) -> String {
        var lines = [
            "# kaspa-sensor configuration. Every key is optional; the values below are the defaults.",
            "# Any key can be overridden by an environment variable KASPA_SENSOR_<SECTION>_<KEY>,",
            "# e.g. KASPA_SENSOR_SENSOR_SENSOR_ID=aws-us-east-1, and sensor_id also by --sensor-id.",
            "# Relative paths are relative to this file's folder.",
        ]
        for section in ConfigurationSchema.sections {
            lines.append("")
            lines.append("[\(section)]")
            for key in ConfigurationSchema.keys where key.section == section && key.deprecation == nil {
                lines.append("# \(key.help)")
                if let value = key.value(configuration) {
                    lines.append("\(key.name) = \(literal(value))")
                } else {
                    lines.append("# \(key.name) = \"\"")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `plugins.toml` with the SQLite sink enabled.
    public static func pluginsFile(databasePath: String = "sensor-data.db") -> String {
        """
        # Sink plugins: shared libraries loaded with dlopen. Each [[sink]] is one instance with its own queue
        # and thread. `library` is an absolute path, a path relative to this file, or a file name looked up next
        # to the kaspa-sensor executable. See README.md, "Writing a sink".

        [[sink]]
        name = "sqlite"
        library = "libSQLiteSink.so"
        enabled = true
        required = true          # a load or config error stops the sensor at startup
        queue_capacity = 100000  # events waiting in memory; with the journal, overflow is read back from it
        batch_max = 500
        flush_interval_ms = 1000
        [sink.config]
        path = "\(databasePath)"    # relative to this file's folder

        """
    }

    private static func literal(_ value: ConfigurationValue) -> String {
        switch value {
        case .string(let text): return quote(text)
        case .integer(let number): return String(number)
        case .boolean(let flag): return flag ? "true" : "false"
        case .float(let number): return String(number)
        case .strings(let list):
            return list.count == 1 ? quote(list[0]) : "[" + list.map(quote).joined(separator: ", ") + "]"
        case .unsupported: return "\"\""
        }
    }

    private static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
