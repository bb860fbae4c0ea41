import Foundation

extension SensorEvent {
    /// The event as one JSON object (UTF-8 bytes, keys in a stable order): the envelope keys `event_id`, `kind`,
    /// `sensor_id`, `schema_version`, `time` (RFC 3339 with microseconds, UTC) and `time_unix_micros`, then every
    /// field under its own name. Null fields are written as `null`.
    public func jsonObject() -> [UInt8] {
        var out: [UInt8] = []
        appendJSON(to: &out)
        return out
    }

    /// Appends ``jsonObject()``'s bytes to `out` (the sink marshaller writes straight into its buffer), reserving
    /// room once and writing through ``JSONByteWriter``: this runs on the sink thread for every event.
    func appendJSON(to out: inout [UInt8]) {
        JSONByteWriter.append(to: &out, reserving: jsonBound) { $0.event(self) }
    }

    /// The most bytes ``appendJSON(to:)`` writes: 256 for the envelope's keys, id, numbers and time (under 200),
    /// then the strings' and fields' own bounds.
    var jsonBound: Int {
        var bound = 256 + JSONByteWriter.bound(of: kind.rawValue) + JSONByteWriter.bound(of: sensorID)
        for field in fields {
            bound += 2 + JSONByteWriter.bound(of: field.name) + JSONByteWriter.bound(of: field.value)
        }
        return bound
    }
}

extension JSONByteWriter {
    /// Writes `event` as ``SensorEvent/jsonObject()`` spells it (at most ``SensorEvent/jsonBound`` bytes).
    mutating func event(_ event: SensorEvent) {
        raw(#"{"event_id":""#)
        uuid(event.eventID)
        raw(#"","kind":"#)
        string(event.kind.rawValue)
        raw(#","sensor_id":"#)
        string(event.sensorID)
        raw(#","schema_version":"#)
        unsigned(UInt64(event.schemaVersion))
        raw(#","time":""#)
        timestamp(unixMicros: event.timeUnixMicros)
        raw(#"","time_unix_micros":"#)
        integer(event.timeUnixMicros)
        for field in event.fields {
            byte(UInt8(ascii: ","))
            string(field.name)
            byte(UInt8(ascii: ":"))
            value(field.value)
        }
        byte(UInt8(ascii: "}"))
    }
}

/// JSON pieces for the host's other small JSON texts (configuration values, dead-letter lines), written the same way
/// as event JSON.
enum JSONWriter {
    /// Appends `"name":`.
    static func key(_ name: String, into out: inout [UInt8]) {
        JSONByteWriter.append(to: &out, reserving: JSONByteWriter.bound(of: name) + 1) { writer in
            writer.string(name)
            writer.byte(UInt8(ascii: ":"))
        }
    }

    /// Appends `text` as a quoted JSON string, escaping quotes, backslashes and control characters.
    static func string(_ text: String, into out: inout [UInt8]) {
        JSONByteWriter.append(to: &out, reserving: JSONByteWriter.bound(of: text)) { $0.string(text) }
    }
}
