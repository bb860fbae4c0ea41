#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address as raw bytes. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are canonicalised to IPv4
/// by ``canonical`` and by every initialiser that parses text or wire bytes.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// Four bytes, network order.
    case v4(UInt8, UInt8, UInt8, UInt8)
    /// Sixteen bytes, network order.
    case v6([UInt8])

    /// Parses dotted-quad IPv4 or textual IPv6 (brackets allowed). Returns `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        var trimmed = String(text)
        if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") {
            trimmed = String(trimmed.dropFirst().dropLast())
        }
        if let percent = trimmed.firstIndex(of: "%") {  // drop an IPv6 zone id
            trimmed = String(trimmed[..<percent])
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, trimmed, &v4) == 1 {
            self = withUnsafeBytes(of: &v4) { .v4($0[0], $0[1], $0[2], $0[3]) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, trimmed, &v6) == 1 {
            self = IPAddress(bytes: withUnsafeBytes(of: &v6) { Array($0) })!
            return
        }
        return nil
    }

    /// Interprets wire bytes: 4 bytes are IPv4, 16 bytes IPv6 (canonicalised if IPv4-mapped); other lengths fail.
    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            self = .v4(bytes[0], bytes[1], bytes[2], bytes[3])
        case 16:
            self = IPAddress.v6(bytes).canonical
        default:
            return nil
        }
    }

    /// IPv4-mapped IPv6 addresses become IPv4; everything else is unchanged.
    public var canonical: IPAddress {
        if case .v6(let bytes) = self, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return .v4(bytes[12], bytes[13], bytes[14], bytes[15])
        }
        return self
    }

    /// The bytes to put in `NetAddress.ip`: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a, let b, let c, let d): return [a, b, c, d]
        case .v6(let bytes): return bytes
        }
    }

    /// True for `0.0.0.0`, `::` and `::ffff:0.0.0.0`: "no address", as nodes that know none advertise it.
    public var isUnspecified: Bool {
        bytes.allSatisfy { $0 == 0 } || canonical == .v4(0, 0, 0, 0)
    }

    /// True for IPv4.
    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    /// Dotted quad for IPv4, RFC 5952 text for IPv6 (no brackets).
    public var description: String {
        switch self {
        case .v4(let a, let b, let c, let d):
            return "\(a).\(b).\(c).\(d)"
        case .v6(var bytes):
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let result = bytes.withUnsafeMutableBytes { raw in
                inet_ntop(AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count))
            }
            guard result != nil else { return "invalid" }
            return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
