internal import TOMLKit

/// Converts a TOML `[sink.config]` table into ``ConfigValue``s, faithfully: strings, integers, floats, booleans,
/// arrays and tables keep their shape; dates and times become RFC 3339 strings; `inf`/`nan` are rejected.
enum TOMLConversion {
    /// Converts every entry of `table`; `path` (e.g. `sink[0].config`) prefixes keys in errors.
    static func table(
        _ table: TOMLTable,
        file: String,
        path: String
    ) throws(ConfigurationError) -> [String: ConfigValue] {
        var result: [String: ConfigValue] = [:]
        for (key, value) in table {
            result[key] = try convert(value, file: file, path: "\(path).\(key)")
        }
        return result
    }

    /// Converts one value; `path` names it in errors.
    static func convert(
        _ value: any TOMLValueConvertible,
        file: String,
        path: String
    ) throws(ConfigurationError) -> ConfigValue {
        switch value.type {
        case .string:
            return .string(value.string ?? "")
        case .int:
            return .integer(Int64(value.int ?? 0))
        case .double:
            let number = value.double ?? 0
            guard number.isFinite else {
                throw ConfigurationError(file: file, key: path, reason: "inf and nan cannot be passed on as JSON")
            }
            return .float(number)
        case .bool:
            return .bool(value.bool ?? false)
        case .array:
            var elements: [ConfigValue] = []
            if let array = value.array {
                for index in array.indices {
                    elements.append(try convert(array[index], file: file, path: "\(path)[\(index)]"))
                }
            }
            return .array(elements)
        case .table:
            guard let nested = value.table else { return .table([:]) }
            return .table(try table(nested, file: file, path: path))
        case .date:
            return .string(value.date.map(format) ?? "")
        case .time:
            return .string(value.time.map(format) ?? "")
        case .dateTime:
            return .string(value.dateTime.map(format) ?? "")
        }
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    private static func format(_ date: TOMLDate) -> String {
        "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))"
    }

    private static func format(_ time: TOMLTime) -> String {
        var text = "\(pad(time.hour, 2)):\(pad(time.minute, 2)):\(pad(time.second, 2))"
        if time.nanoSecond > 0 {
            var fraction = pad(time.nanoSecond, 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += ".\(fraction)"
        }
        return text
    }

    private static func format(_ dateTime: TOMLDateTime) -> String {
        var text = "\(format(dateTime.date))T\(format(dateTime.time))"
        if let offset = dateTime.offset?.offset {
            if offset == 0 {
                text += "Z"
            } else {
                let magnitude = abs(offset)
                text += "\(offset < 0 ? "-" : "+")\(pad(magnitude / 60, 2)):\(pad(magnitude % 60, 2))"
            }
        }
        return text
    }
}
