import ExportDelivery

/// Event JSON as Firestore typed values (REST `Value`): `nullValue`, `booleanValue`, `integerValue` (a decimal
/// string, as the API wants int64), `doubleValue`, `stringValue`, `arrayValue`, `mapValue`, and `timestampValue`
/// for the event's top-level `time` (RFC 3339, UTC, microseconds), so documents can be ordered and filtered by time.
enum FirestoreValue {
    /// The top-level event keys written as `timestampValue`.
    static let timestampKeys: Set<String> = ["time"]

    /// Appends a `fields` object for the `members` of a JSON object to `out`; `isDocument`: the event's own
    /// members, where ``timestampKeys`` apply.
    static func appendFields(of members: [(key: String, value: JSONValue)], isDocument: Bool, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (position, member) in members.enumerated() {
            if position > 0 {
                out.append(UInt8(ascii: ","))
            }
            JSONText.append(member.key, to: &out)
            out.append(UInt8(ascii: ":"))
            if isDocument, timestampKeys.contains(member.key), let text = member.value.stringValue {
                out.append(contentsOf: #"{"timestampValue":"#.utf8)
                JSONText.append(text, to: &out)
                out.append(UInt8(ascii: "}"))
            } else {
                append(member.value, to: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Appends `value` as a typed value.
    static func append(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null:
            out.append(contentsOf: #"{"nullValue":null}"#.utf8)
        case .boolean(let flag):
            out.append(contentsOf: (flag ? #"{"booleanValue":true}"# : #"{"booleanValue":false}"#).utf8)
        case .integer(let number):
            out.append(contentsOf: #"{"integerValue":""#.utf8)
            out.append(contentsOf: String(number).utf8)
            out.append(contentsOf: #""}"#.utf8)
        case .double(let number):
            // JSON numbers are finite, and Swift prints them as valid JSON numbers ("1e-05", "0.1").
            out.append(contentsOf: #"{"doubleValue":"#.utf8)
            out.append(contentsOf: String(number).utf8)
            out.append(UInt8(ascii: "}"))
        case .string(let text):
            out.append(contentsOf: #"{"stringValue":"#.utf8)
            JSONText.append(text, to: &out)
            out.append(UInt8(ascii: "}"))
        case .array(let values):
            out.append(contentsOf: #"{"arrayValue":{"values":["#.utf8)
            for (position, element) in values.enumerated() {
                if position > 0 {
                    out.append(UInt8(ascii: ","))
                }
                append(element, to: &out)
            }
            out.append(contentsOf: "]}}".utf8)
        case .object(let members):
            out.append(contentsOf: #"{"mapValue":{"fields":"#.utf8)
            appendFields(of: members, isDocument: false, to: &out)
            out.append(contentsOf: "}}".utf8)
        }
    }
}
