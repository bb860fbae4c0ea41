/// A configuration value as read from TOML or from an environment variable, before it is checked.
public enum ConfigurationValue: Sendable, Hashable {
    /// A string.
    case string(String)
    /// An integer.
    case integer(Int)
    /// A boolean.
    case boolean(Bool)
    /// A floating-point number.
    case float(Double)
    /// An array of strings.
    case strings([String])
    /// Any other TOML type (tables, dates, mixed arrays), named for the error message.
    case unsupported(String)

    var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .boolean: return "a boolean"
        case .float: return "a number"
        case .strings: return "an array of strings"
        case .unsupported(let name): return name
        }
    }
}

/// Why one value is unusable; the loader adds the file and the key.
struct InvalidValue: Error {
    var reason: String
}

extension ConfigurationValue {
    func string() throws(InvalidValue) -> String {
        guard case .string(let text) = self else { throw InvalidValue(reason: "expected a string, got \(typeName)") }
        return text
    }

    func boolean() throws(InvalidValue) -> Bool {
        guard case .boolean(let flag) = self else {
            throw InvalidValue(reason: "expected true or false, got \(typeName)")
        }
        return flag
    }

    func integer(in range: ClosedRange<Int>) throws(InvalidValue) -> Int {
        guard case .integer(let number) = self else {
            throw InvalidValue(reason: "expected an integer, got \(typeName)")
        }
        guard range.contains(number) else {
            throw InvalidValue(reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    func stringList() throws(InvalidValue) -> [String] {
        switch self {
        case .string(let text): return [text]
        case .strings(let list): return list
        default: throw InvalidValue(reason: "expected a string or an array of strings, got \(typeName)")
        }
    }

    /// Parses an environment variable's text as the type of `example`.
    static func parse(environment text: String, like example: ConfigurationValue) -> ConfigurationValue {
        switch example {
        case .integer:
            return Int(text).map(ConfigurationValue.integer) ?? .string(text)
        case .boolean:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return .boolean(true)
            case "false", "0", "no", "off": return .boolean(false)
            default: return .string(text)
            }
        case .strings:
            return .strings(text.split(separator: ",").map { String($0).trimmingSpaces() })
        default:
            return .string(text)
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
