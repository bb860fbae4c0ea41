public import KaspaP2P

/// Where a connection comes from, at the two sizes the per-source limits count: the source (an IPv4 address or
/// an IPv6 /64, one host's usual allocation) and its prefix (the IPv4 /24 or IPv6 /48 around it, one network's
/// usual allocation). IPv4-mapped IPv6 addresses count as IPv4.
public struct SourceKey: Hashable, Sendable, CustomStringConvertible {
    /// The address with every bit after the prefix cleared.
    public let address: IPAddress
    /// The prefix length in bits.
    public let prefixLength: Int

    /// The source `ip` belongs to.
    public static func source(of ip: IPAddress) -> SourceKey {
        let ip = ip.canonical
        return ip.isIPv4 ? SourceKey(address: ip, prefixLength: 32) : masked(ip, to: 64)
    }

    /// The prefix `ip` belongs to.
    public static func prefix(of ip: IPAddress) -> SourceKey {
        let ip = ip.canonical
        return masked(ip, to: ip.isIPv4 ? 24 : 48)
    }

    private static func masked(_ ip: IPAddress, to length: Int) -> SourceKey {
        var bytes = ip.bytes
        for index in bytes.indices {
            let kept = min(max(length - index * 8, 0), 8)
            bytes[index] &= UInt8(truncatingIfNeeded: 0xff << (8 - kept))
        }
        return SourceKey(address: IPAddress(bytes: bytes) ?? ip, prefixLength: length)
    }

    /// `203.0.113.7` for an IPv4 source, `prefix/length` otherwise.
    public var description: String {
        prefixLength == 32 && address.isIPv4 ? address.description : "\(address)/\(prefixLength)"
    }
}

/// How many connections (or streams) each source and each prefix holds, against their limits. A value type with
/// no I/O: ``SourceLimiter`` keeps one for connections and one for streams.
struct SourceLimits: Sendable {
    /// Why something was refused: which key was full, at what limit.
    struct Refusal: Sendable, Equatable, CustomStringConvertible {
        /// The full source or prefix.
        var key: SourceKey
        /// Its limit.
        var limit: Int
        /// `ip` or `prefix`, for metrics.
        var scope: String { key.prefixLength == 32 || key.prefixLength == 64 ? "ip" : "prefix" }
        var description: String { "\(key) already holds \(limit)" }
    }

    private let perSource: Int
    private let perPrefix: Int
    private var held: [SourceKey: Int] = [:]

    /// Limits of `perSource` per source and `perPrefix` per prefix.
    init(perSource: Int, perPrefix: Int) {
        self.perSource = perSource
        self.perPrefix = perPrefix
    }

    /// Counts one more for `ip` unless its source or prefix is full; then nothing is counted.
    mutating func admit(_ ip: IPAddress) -> Refusal? {
        let source = SourceKey.source(of: ip)
        let prefix = SourceKey.prefix(of: ip)
        if held[source, default: 0] >= perSource { return Refusal(key: source, limit: perSource) }
        if held[prefix, default: 0] >= perPrefix { return Refusal(key: prefix, limit: perPrefix) }
        held[source, default: 0] += 1
        held[prefix, default: 0] += 1
        return nil
    }

    /// One admitted for `ip` ended.
    mutating func release(_ ip: IPAddress) {
        for key in [SourceKey.source(of: ip), SourceKey.prefix(of: ip)] {
            guard let count = held[key] else { continue }
            held[key] = count > 1 ? count - 1 : nil
        }
    }
}
