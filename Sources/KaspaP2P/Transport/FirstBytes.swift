/// A short, printable summary of the first bytes a connection sent, for events and logs: what another protocol
/// said instead of HTTP/2 (an HTTP/1.1 status line, an SSH banner) is what an operator needs to recognise it.
public struct FirstBytes: Sendable, Hashable, CustomStringConvertible {
    /// At most this many bytes are kept.
    public static let limit = 64

    /// The bytes kept (at most ``limit``).
    public private(set) var bytes: [UInt8] = []
    /// Every byte seen, including those past ``limit``.
    public private(set) var total = 0

    /// Creates an empty summary.
    public init() {}

    /// Creates a summary of `bytes`.
    public init(_ bytes: some Sequence<UInt8>) {
        append(bytes)
    }

    /// Adds bytes as they arrive.
    public mutating func append(_ more: some Sequence<UInt8>) {
        for byte in more {
            total += 1
            if bytes.count < Self.limit { bytes.append(byte) }
        }
    }

    /// True when nothing arrived.
    public var isEmpty: Bool { total == 0 }

    /// The text up to the first line break when the bytes are mostly printable ASCII, quoted and escaped
    /// (`"HTTP/1.1 400 Bad Request"`); otherwise the bytes in hex. Followed by the total when more came.
    public var description: String {
        let line = bytes.prefix { $0 != 0x0d && $0 != 0x0a }
        let printable = line.filter { (0x20...0x7e).contains($0) }.count
        var text: String
        if !line.isEmpty, printable * 10 >= line.count * 9 {
            text = "\""
            for byte in line {
                switch byte {
                case 0x22: text += "\\\""
                case 0x5c: text += "\\\\"
                case 0x20...0x7e: text.unicodeScalars.append(Unicode.Scalar(byte))
                default: text += "\\x" + [byte].hexString
                }
            }
            text += "\""
        } else {
            text = "hex " + bytes.hexString
        }
        if total > line.count { text += " (\(total) bytes)" }
        return text
    }
}
