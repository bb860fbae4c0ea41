public import Foundation
public import SensorEvents
import TOMLKit

/// A configuration and where it came from.
public struct LoadedConfiguration: Sendable {
    /// The values.
    public var configuration: SensorConfiguration
    /// The file read, or `nil` when the defaults were used.
    public var file: String?
    /// The folder relative paths are resolved against: the file's folder, else the working directory.
    public var directory: String
    /// What the operator should change although the configuration loaded (deprecated keys), each naming where
    /// the key was set; logged at startup and printed by `check-config`.
    public var warnings: [String] = []

    /// Resolves `path` against ``directory`` unless it is absolute.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
    }
}

/// Reads `sensor.toml`, then applies environment overrides (`KASPA_SENSOR_<SECTION>_<KEY>`), then the command line.
/// Unknown sections and keys, wrong types and out-of-range values are errors naming the file, the key and why.
public enum ConfigurationLoader {
    /// Loads `file` (or the defaults when `file` is `nil`), then the overrides.
    public static func load(
        file: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        sensorID: String? = nil
    ) throws(ConfigurationError) -> LoadedConfiguration {
        var configuration = SensorConfiguration()
        var warnings: [String] = []
        var directory = FileManager.default.currentDirectoryPath
        if let file {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigurationError(
                    file: file, key: "", reason: "cannot read the file (\(error.localizedDescription))")
            }
            try apply(toml: text, file: file, to: &configuration, warnings: &warnings)
            let absolute = file.hasPrefix("/") ? file : (directory as NSString).appendingPathComponent(file)
            directory = (absolute as NSString).deletingLastPathComponent
        }
        try applyEnvironment(environment, to: &configuration, warnings: &warnings)
        if let sensorID {
            try apply(
                .string(sensorID), to: "sensor", "sensor_id", source: "--sensor-id", in: &configuration,
                warnings: &warnings)
        }
        if configuration.announce.enabled && configuration.sensor.externalAddress == nil {
            throw ConfigurationError(
                file: file ?? "defaults", key: "announce.enabled",
                reason: "needs [sensor] external_address: the address to announce")
        }
        return LoadedConfiguration(
            configuration: configuration, file: file, directory: directory, warnings: warnings)
    }

    /// Applies the keys of one TOML document.
    static func apply(
        toml text: String, file: String, to configuration: inout SensorConfiguration, warnings: inout [String]
    ) throws(ConfigurationError) {
        try TOMLDocument.check(text, file: file)
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(
                file: file,
                key: "",
                reason:
                    "not valid TOML at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)"
            )
        } catch {
            throw ConfigurationError(file: file, key: "", reason: "not valid TOML: \(error)")
        }
        for section in root.keys {
            guard ConfigurationSchema.sections.contains(section) else {
                let known = ConfigurationSchema.sections.joined(separator: ", ")
                throw ConfigurationError(file: file, key: section, reason: "unknown section; known sections: \(known)")
            }
            guard let table = root[section]?.table else {
                throw ConfigurationError(file: file, key: section, reason: "must be a table ([\(section)])")
            }
            for name in table.keys where ConfigurationSchema.key(section: section, name: name) == nil {
                let known = ConfigurationSchema.keys.filter { $0.section == section }.map(\.name).joined(
                    separator: ", ")
                throw ConfigurationError(
                    file: file, key: "\(section).\(name)", reason: "unknown key; known keys in [\(section)]: \(known)")
            }
        }
        // Schema order: network_type comes before external_address, which takes the network's default port.
        for key in ConfigurationSchema.keys {
            guard let table = root[key.section]?.table, let raw = table[key.name] else { continue }
            try apply(
                value(of: raw), to: key.section, key.name, source: file, in: &configuration, warnings: &warnings)
        }
    }

    private static func applyEnvironment(
        _ environment: [String: String],
        to configuration: inout SensorConfiguration,
        warnings: inout [String]
    ) throws(ConfigurationError) {
        for key in ConfigurationSchema.keys {
            guard let text = environment[key.environmentVariable] else { continue }
            let example = key.value(SensorConfiguration()) ?? .string("")
            let value = ConfigurationValue.parse(environment: text, like: example)
            try apply(
                value, to: key.section, key.name, source: "environment variable \(key.environmentVariable)",
                in: &configuration, warnings: &warnings)
        }
    }

    private static func apply(
        _ value: ConfigurationValue,
        to section: String,
        _ name: String,
        source: String,
        in configuration: inout SensorConfiguration,
        warnings: inout [String]
    ) throws(ConfigurationError) {
        guard let key = ConfigurationSchema.key(section: section, name: name) else {
            throw ConfigurationError(file: source, key: "\(section).\(name)", reason: "unknown key")
        }
        if let deprecation = key.deprecation {
            warnings.append("\(source): \(deprecation)")
        }
        do {
            try key.apply(&configuration, value)
        } catch {
            throw ConfigurationError(file: source, key: key.path, reason: error.reason)
        }
    }

    private static func value(of raw: any TOMLValueConvertible) -> ConfigurationValue {
        switch raw.type {
        case .string: return .string(raw.string ?? "")
        case .int: return .integer(raw.int ?? 0)
        case .bool: return .boolean(raw.bool ?? false)
        case .double: return .float(raw.double ?? 0)
        case .array:
            let items = raw.array.map { Array($0) } ?? []
            let strings = items.compactMap(\.string)
            return strings.count == items.count ? .strings(strings) : .unsupported("an array of non-strings")
        case .table: return .unsupported("a table")
        default: return .unsupported("a date or time")
        }
    }
}
