/// A value of a plugin's `[sink.config]` table, as the plugin receives it in its configuration JSON.
///
/// TOML dates, times and date-times become ``string(_:)`` values in RFC 3339 form (`1979-05-27T07:32:00Z`,
/// `1979-05-27`, `07:32:00`); TOML's `inf` and `nan` are rejected because JSON cannot carry them.
public enum ConfigValue: Sendable, Hashable {
    /// A string (also used for dates and times).
    case string(String)
    /// A 64-bit signed integer.
    case integer(Int64)
    /// A finite double.
    case float(Double)
    /// A boolean.
    case bool(Bool)
    /// An array; elements may mix types, as in TOML 1.0.
    case array([ConfigValue])
    /// A table, rendered as a JSON object with its keys sorted.
    case table([String: ConfigValue])

    /// The value as compact JSON text (object keys sorted, so the output is stable).
    public func jsonText() -> String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .string(let text):
            JSONWriter.string(text, into: &out)
        case .integer(let number):
            out.append(contentsOf: String(number).utf8)
        case .float(let number):
            // Finite by construction; `String(Double)` is valid JSON for finite values (e.g. `1e-05`, `2.5`).
            out.append(contentsOf: (number.isFinite ? String(number) : "null").utf8)
        case .bool(let flag):
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .table(let table):
            out.append(UInt8(ascii: "{"))
            for (index, key) in table.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.key(key, into: &out)
                table[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
