import Foundation

/// Typed, strict access to the keys of a plugin's configuration object (the JSON object the host passes to
/// `create()`): unknown keys are refused, keys starting with `_` belong to the host.
package struct SettingsReader {
    private let object: [String: ConfigValue]

    /// Parses `json` as an object; the error is a sentence for the host log.
    package init(json: UnsafeRawBufferPointer) throws(SettingsError) {
        do {
            object = try JSONDecoder().decode([String: ConfigValue].self, from: Data(json))
        } catch {
            throw SettingsError("the configuration is not a JSON object: \(error)")
        }
    }

    /// `_config_dir`: the absolute folder of plugins.toml.
    package var configDirectory: String? {
        if case .string(let text) = object["_config_dir"] { text } else { nil }
    }

    /// `_sink_name`: the `[[sink]]` name.
    package var sinkName: String? {
        if case .string(let text) = object["_sink_name"] { text } else { nil }
    }

    /// Throws, listing `known`, if the object has a key that is neither known, nor retired, nor the host's;
    /// returns the retired keys it has (keys no longer read, with what replaced each), sorted, for warnings.
    package func refuseUnknownKeys(
        _ known: Set<String>, retired: [String: String] = [:]
    ) throws(SettingsError) -> [(key: String, replacement: String)] {
        let unknown = object.keys.filter { !$0.hasPrefix("_") && !known.contains($0) && retired[$0] == nil }
        guard unknown.isEmpty else {
            throw SettingsError(
                "unknown key(s) \(unknown.sorted().joined(separator: ", ")); known keys are "
                    + known.sorted().joined(separator: ", ")
            )
        }
        return object.keys.sorted().compactMap { key in retired[key].map { (key, $0) } }
    }

    /// The non-empty string at `key`, or `nil` if absent.
    package func string(_ key: String) throws(SettingsError) -> String? {
        guard let value = object[key] else { return nil }
        guard case .string(let text) = value, !text.isEmpty else {
            throw SettingsError("\"\(key)\" must be a non-empty string")
        }
        return text
    }

    /// The string at `key`, which must be one of `choices`; `nil` if absent.
    package func choice(_ key: String, of choices: [String]) throws(SettingsError) -> String? {
        guard let text = try string(key) else { return nil }
        guard choices.contains(text) else {
            let quoted = choices.map { "\"\($0)\"" }
            let list = quoted.count > 1 ? quoted.dropLast().joined(separator: ", ") + " or " + quoted.last! : quoted[0]
            throw SettingsError("\"\(key)\" must be \(list), got \"\(text)\"")
        }
        return text
    }

    /// The boolean at `key`, or `fallback` if absent.
    package func boolean(_ key: String, default fallback: Bool) throws(SettingsError) -> Bool {
        guard let value = object[key] else { return fallback }
        guard case .boolean(let flag) = value else {
            throw SettingsError("\"\(key)\" must be true or false")
        }
        return flag
    }

    /// The integer at `key` within `range`, or `fallback` if absent.
    package func integer(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws(SettingsError) -> Int
    {
        guard let value = object[key] else { return fallback }
        guard case .integer(let integer) = value else {
            throw SettingsError("\"\(key)\" must be an integer")
        }
        guard range.contains(integer) else {
            throw SettingsError(
                "\"\(key)\" must be between \(range.lowerBound) and \(range.upperBound), got \(integer)")
        }
        return integer
    }

    /// The string at `literalKey`, or the value of the environment variable named at `variableKey` (read now);
    /// not both. Meant for secrets: no message includes the value.
    package func secret(_ literalKey: String, orVariable variableKey: String) throws(SettingsError) -> String? {
        switch (try string(literalKey), try string(variableKey)) {
        case (nil, nil):
            return nil
        case (let literal?, nil):
            return literal
        case (nil, let variable?):
            guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                throw SettingsError("\"\(variableKey)\": environment variable \(variable) is not set or empty")
            }
            return value
        case (_?, _?):
            throw SettingsError("set \"\(literalKey)\" or \"\(variableKey)\", not both")
        }
    }

    /// `path` made absolute against the folder of plugins.toml (or the working directory) and standardised.
    package func absolutePath(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return URL(fileURLWithPath: path).standardizedFileURL.path }
        let base = configDirectory ?? FileManager.default.currentDirectoryPath
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true))
            .standardizedFileURL.path
    }
}

/// Why the configuration (or the plugin's setup) was rejected.
package struct SettingsError: Error {
    /// A sentence for the host log, naming the key and the reason.
    package let message: String

    /// Creates an error with its message.
    package init(_ message: String) {
        self.message = message
    }
}

/// One value of the configuration object, typed as JSON typed it (TOML values arrive as JSON).
private enum ConfigValue: Decodable {
    case boolean(Bool)
    case integer(Int)
    case string(String)
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .boolean(flag)
        } else if let integer = try? container.decode(Int.self) {
            self = .integer(integer)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else {
            self = .other
        }
    }
}
