import ExportDelivery

/// Event members as Firestore typed values (REST `Value`): `nullValue`, `booleanValue`, `integerValue` (a decimal
/// string, as the API wants int64), `doubleValue`, `stringValue`, and `timestampValue` for the event's `time`
/// (RFC 3339, UTC, microseconds), so documents can be ordered and filtered by time.
enum FirestoreValue {
    /// Appends a `fields` object for `members` to `out`.
    static func appendFields(of members: [(key: String, value: EventMember)], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (position, member) in members.enumerated() {
            if position > 0 {
                out.append(UInt8(ascii: ","))
            }
            JSONText.append(member.key, to: &out)
            out.append(UInt8(ascii: ":"))
            append(member.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `value` as a typed value.
    static func append(_ value: EventMember, to out: inout [UInt8]) {
        switch value {
        case .null:
            out.append(contentsOf: #"{"nullValue":null}"#.utf8)
        case .boolean(let flag):
            out.append(contentsOf: (flag ? #"{"booleanValue":true}"# : #"{"booleanValue":false}"#).utf8)
        case .integer(let number):
            out.append(contentsOf: #"{"integerValue":""#.utf8)
            out.append(contentsOf: String(number).utf8)
            out.append(contentsOf: #""}"#.utf8)
        case .double:
            out.append(contentsOf: #"{"doubleValue":"#.utf8)
            value.appendJSON(to: &out)
            out.append(UInt8(ascii: "}"))
        case .string:
            out.append(contentsOf: #"{"stringValue":"#.utf8)
            value.appendJSON(to: &out)
            out.append(UInt8(ascii: "}"))
        case .timestamp:
            out.append(contentsOf: #"{"timestampValue":"#.utf8)
            value.appendJSON(to: &out)
            out.append(UInt8(ascii: "}"))
        }
    }
}
