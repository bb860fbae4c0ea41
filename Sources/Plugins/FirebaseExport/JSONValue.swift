/// A parsed JSON value that keeps what Firestore's typed values need and `JSONSerialization` blurs: whether a
/// number was written as an integer (`42`) or not (`4.2`, `1e3`, `1.0`), and booleans apart from numbers.
/// (Sendable is declared: inferring it through the member tuples trips a compiler cycle.)
enum JSONValue: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case boolean(Bool)
    /// A number without fraction or exponent that fits 64 bits.
    case integer(Int64)
    /// Any other number.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// Members in document order (duplicates kept as written).
    case object([(key: String, value: JSONValue)])

    /// The member `key` of an object (the last one if repeated), else `nil`.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// The text of a string value, else `nil`.
    var stringValue: String? {
        if case .string(let text) = self { text } else { nil }
    }

    /// Parses one JSON text (RFC 8259); `nil` if it is not valid JSON or nests deeper than 64 levels.
    static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> JSONValue? {
        var parser = JSONParser(Array(bytes))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        return parser.isAtEnd ? value : nil
    }
}
