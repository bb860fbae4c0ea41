import Foundation
import SensorEvents

// The event JSON writer as it was before JSONByteWriter (append by append into an `[UInt8]`), kept as the oracle
// the new writer must match byte for byte.

extension SensorEvent {
    /// The event JSON as the former writer built it.
    func legacyJSONObject() -> [UInt8] {
        var out: [UInt8] = []
        legacyAppendJSON(to: &out)
        return out
    }

    private func legacyAppendJSON(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        LegacyJSONWriter.key("event_id", into: &out)
        out.append(UInt8(ascii: "\""))
        LegacyJSONWriter.uuid(eventID, into: &out)
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ","))
        LegacyJSONWriter.key("kind", into: &out)
        LegacyJSONWriter.string(kind.rawValue, into: &out)
        out.append(UInt8(ascii: ","))
        LegacyJSONWriter.key("sensor_id", into: &out)
        LegacyJSONWriter.string(sensorID, into: &out)
        out.append(UInt8(ascii: ","))
        LegacyJSONWriter.key("schema_version", into: &out)
        out.append(contentsOf: String(schemaVersion).utf8)
        out.append(UInt8(ascii: ","))
        LegacyJSONWriter.key("time", into: &out)
        out.append(UInt8(ascii: "\""))
        LegacyRFC3339.append(unixMicros: timeUnixMicros, to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ","))
        LegacyJSONWriter.key("time_unix_micros", into: &out)
        out.append(contentsOf: String(timeUnixMicros).utf8)
        for field in fields {
            out.append(UInt8(ascii: ","))
            LegacyJSONWriter.key(field.name, into: &out)
            LegacyJSONWriter.value(field.value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

/// Minimal, allocation-light JSON writing for event objects (the shape is fixed, so no encoder is needed).
enum LegacyJSONWriter {
    /// Appends `"name":`.
    static func key(_ name: String, into out: inout [UInt8]) {
        string(name, into: &out)
        out.append(UInt8(ascii: ":"))
    }

    /// Appends a field value; non-finite floats become `null`.
    static func value(_ value: EventValue, into out: inout [UInt8]) {
        switch value {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .int(let number):
            out.append(contentsOf: String(number).utf8)
        case .float(let number):
            if number.isFinite {
                out.append(contentsOf: String(number).utf8)
            } else {
                out.append(contentsOf: "null".utf8)
            }
        case .bool(let flag):
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .text(let text):
            string(text, into: &out)
        }
    }

    /// Appends `text` as a quoted JSON string, escaping quotes, backslashes and control characters.
    static func string(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            // Copy runs of bytes that need no escaping in one go; escape the rest.
            var runStart = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                escape(byte, into: &out)
                runStart = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func escape(_ byte: UInt8, into out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append(contentsOf: [UInt8(ascii: "\\"), byte])
        case UInt8(ascii: "\n"):
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case UInt8(ascii: "\r"):
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case UInt8(ascii: "\t"):
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        default:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            out.append(hexDigit(byte >> 4))
            out.append(hexDigit(byte & 0x0f))
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// Appends the UUID in its canonical lowercase form (36 characters), without quotes.
    static func uuid(_ uuid: UUID, into out: inout [UInt8]) {
        withUnsafeBytes(of: uuid.uuid) { raw in
            for (index, byte) in raw.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out.append(UInt8(ascii: "-"))
                }
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0f))
            }
        }
    }
}

/// RFC 3339 timestamps with microsecond precision in UTC, e.g. `2026-11-25T12:00:00.123456Z`.
enum LegacyRFC3339 {
    /// Formats microseconds since the Unix epoch.
    static func format(unixMicros: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(27)
        append(unixMicros: unixMicros, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the timestamp's UTF-8 bytes to `out` without creating strings.
    static func append(unixMicros: Int64, to out: inout [UInt8]) {
        var seconds = time_t(unixMicros / 1_000_000)
        var micros = unixMicros % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ width: Int, then separator: UInt8? = nil) {
            guard value >= 0 else {
                out.append(contentsOf: String(value).utf8)
                return
            }
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while value / divisor >= 10 { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
            if let separator { out.append(separator) }
        }
        digits(Int(parts.tm_year) + 1900, 4, then: UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2, then: UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2, then: UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2, then: UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2, then: UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2, then: UInt8(ascii: "."))
        digits(Int(micros), 6, then: UInt8(ascii: "Z"))
    }
}
