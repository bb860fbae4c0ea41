/// JSON text helpers for request bodies written by hand.
package enum JSONText {
    /// `prefix`, then the JSON texts of `items` separated by commas, then `suffix`: an array's or an object's
    /// members around already-encoded parts.
    package static func joined<Item: Collection<UInt8>>(_ items: [Item], prefix: String, suffix: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(items.reduce(prefix.utf8.count + suffix.utf8.count) { $0 + $1.count + 1 })
        out.append(contentsOf: prefix.utf8)
        for (position, item) in items.enumerated() {
            if position > 0 {
                out.append(UInt8(ascii: ","))
            }
            out.append(contentsOf: item)
        }
        out.append(contentsOf: suffix.utf8)
        return out
    }

    /// `text` as a JSON string literal, quotes included.
    package static func string(_ text: String) -> String {
        var out: [UInt8] = []
        append(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `text` as a JSON string literal: quotes, backslashes and control characters escaped.
    package static func append(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case UInt8(ascii: "\n"):
                out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"):
                out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"):
                out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
