import ExportDelivery
import Foundation
import SensorPluginAPI

/// A value of an event as a Firebase document holds it, read from the host's typed `sensor_field`s (never from
/// re-parsed JSON, so an integer stays an integer and a double a double).
enum EventMember {
    /// No value (`SENSOR_FIELD_NULL`, a non-finite float, or a type code newer than this plugin).
    case null
    /// `SENSOR_FIELD_BOOL`.
    case boolean(Bool)
    /// `SENSOR_FIELD_INT` and the envelope's integers.
    case integer(Int64)
    /// `SENSOR_FIELD_FLOAT`.
    case double(Double)
    /// `SENSOR_FIELD_TEXT` and the envelope's strings.
    case string(String)
    /// The envelope's `time`: Firestore's `timestampValue`, the host's RFC 3339 text in the Realtime Database.
    case timestamp(unixMicros: Int64)
}

extension ExportEvent {
    /// The event's members in the order of the host's event JSON: the envelope (`event_id`, `kind`, `sensor_id`,
    /// `schema_version`, `time`, `time_unix_micros`), then every field under its name.
    var members: [(key: String, value: EventMember)] {
        let event = pointer.pointee
        var members: [(key: String, value: EventMember)] = [
            ("event_id", .string(eventID)), ("kind", .string(event.kind.string)),
            ("sensor_id", .string(event.sensor_id.string)), ("schema_version", .integer(Int64(event.schema_version))),
            ("time", .timestamp(unixMicros: event.time_unix_micros)),
            ("time_unix_micros", .integer(event.time_unix_micros)),
        ]
        members.reserveCapacity(members.count + fields.count)
        for field in fields {
            members.append((field.name.string, EventMember(field)))
        }
        return members
    }
}

extension EventMember {
    /// The value of `field`.
    init(_ field: sensor_field) {
        switch field.type {
        case SENSOR_FIELD_INT: self = .integer(field.int_value)
        case SENSOR_FIELD_FLOAT: self = field.float_value.isFinite ? .double(field.float_value) : .null
        case SENSOR_FIELD_TEXT: self = .string(field.text_value.string)
        case SENSOR_FIELD_BOOL: self = .boolean(field.int_value != 0)
        default: self = .null
        }
    }

    /// `unixMicros` as RFC 3339 in UTC with microseconds (`2023-11-14T22:13:20.000007Z`), as the host writes it.
    static func rfc3339(unixMicros: Int64) -> String {
        let (quotient, remainder) = unixMicros.quotientAndRemainder(dividingBy: 1_000_000)
        var seconds = time_t(remainder < 0 ? quotient - 1 : quotient)
        let micros = remainder < 0 ? remainder + 1_000_000 : remainder
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int32(micros))
    }

    /// Appends the value as plain JSON (the Realtime Database stores the event as the host's JSON object).
    func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .boolean(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let number): out.append(contentsOf: String(number).utf8)
        // Finite by construction; Swift prints doubles as valid JSON numbers ("1e-05", "7.5").
        case .double(let number): out.append(contentsOf: String(number).utf8)
        case .string(let text): JSONText.append(text, to: &out)
        case .timestamp(let micros): JSONText.append(Self.rfc3339(unixMicros: micros), to: &out)
        }
    }
}
