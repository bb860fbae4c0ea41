/// The value of one event field. The cases map one-to-one to the `SENSOR_FIELD_*` codes of the plugin ABI.
public enum EventValue: Sendable, Hashable {
    /// The field is part of the schema but has no value for this event.
    case null
    /// A signed 64-bit integer.
    case int(Int64)
    /// A double-precision number (durations in milliseconds, for example).
    case float(Double)
    /// UTF-8 text.
    case text(String)
    /// A boolean.
    case bool(Bool)
}

extension EventValue {
    /// Wraps an optional integer, mapping `nil` to ``null``.
    public static func int<T: BinaryInteger>(_ value: T?) -> EventValue {
        value.map { .int(Int64($0)) } ?? .null
    }

    /// Wraps an optional string, mapping `nil` to ``null``.
    public static func text(_ value: String?) -> EventValue {
        value.map { .text($0) } ?? .null
    }

    /// Wraps an optional double, mapping `nil` to ``null``.
    public static func float(_ value: Double?) -> EventValue {
        value.map { .float($0) } ?? .null
    }

    /// Wraps an optional boolean, mapping `nil` to ``null``.
    public static func bool(_ value: Bool?) -> EventValue {
        value.map { .bool($0) } ?? .null
    }
}

/// One named value of an event; `name` is a stable snake_case key shared by the ABI fields, JSON and SQL columns.
public struct EventField: Sendable, Hashable {
    /// The stable key, for example `remote_ip`.
    public var name: String
    /// The value.
    public var value: EventValue

    /// Creates a field.
    public init(_ name: String, _ value: EventValue) {
        self.name = name
        self.value = value
    }
}
