import SensorEvents

// `ConfigurationLoader.apply(toml:…)` is internal: the fuzzer feeds the document without a file (see JournalFuzz).
#if DEBUG
    @testable import SensorHost
#else
    import SensorHost
#endif

/// The two TOML loaders fed arbitrary documents: an operator's typo, a truncated or binary file must end in a
/// ``SensorEvents/ConfigurationError`` naming the key, never a crash. Like the loaders, invalid UTF-8 is refused
/// before parsing.
enum ConfigurationFuzz {
    /// `sensor.toml`: the document up to the first NUL byte; after it, `NAME=VALUE` lines are the environment
    /// overrides applied to the defaults (`KASPA_SENSOR_<SECTION>_<KEY>`, parsed like the key's type).
    static func runSensorTOML(_ input: [UInt8]) throws(FuzzFailure) {
        let parts = input.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        if let text = String(validating: parts[0], as: UTF8.self) {
            #if DEBUG
                var configuration = SensorConfiguration()
                var warnings: [String] = []
                try? ConfigurationLoader.apply(toml: text, file: "sensor.toml", to: &configuration, warnings: &warnings)
            #endif
            _ = text
        }
        guard parts.count > 1, let overrides = String(validating: parts[1], as: UTF8.self) else { return }
        var environment: [String: String] = [:]
        for line in overrides.split(separator: "\n") {
            let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            environment["KASPA_SENSOR_" + pair[0]] = pair.count > 1 ? String(pair[1]) : ""
        }
        _ = try? ConfigurationLoader.load(file: nil, environment: environment)
    }

    /// `plugins.toml`: whatever loads names each sink once, with a name.
    static func runPluginsTOML(_ input: [UInt8]) throws(FuzzFailure) {
        guard let text = String(validating: input, as: UTF8.self),
            let file = try? PluginsFile(
                parsing: text, file: "/etc/kaspa-sensor/plugins.toml", directory: "/etc/kaspa-sensor")
        else { return }
        let names = file.sinks.map(\.name)
        try check(Set(names).count == names.count, "duplicate sink names \(names) accepted")
        try check(!names.contains(""), "a sink without a name accepted")
    }
}
