/// An IP address and TCP port, as in `NetAddress` or a connection's endpoint.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address, canonical (IPv4-mapped IPv6 is stored as IPv4).
    public var ip: IPAddress
    /// The TCP port.
    public var port: UInt16

    /// Creates an address; `ip` is canonicalised.
    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip.canonical
        self.port = port
    }

    /// Parses `1.2.3.4:16111`, `[2001:db8::1]:16111`, or a bare IP with `defaultPort`.
    public init?(_ text: String, defaultPort: UInt16? = nil) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            guard let ip = IPAddress(text[text.index(after: text.startIndex)..<close]) else { return nil }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty, let defaultPort {
                self.init(ip: ip, port: defaultPort)
                return
            }
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()) else { return nil }
            self.init(ip: ip, port: port)
            return
        }
        if let ip = IPAddress(text), let defaultPort {
            self.init(ip: ip, port: defaultPort)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let ip = IPAddress(text[..<colon]),
            let port = UInt16(text[text.index(after: colon)...])
        else { return nil }
        self.init(ip: ip, port: port)
    }

    /// `1.2.3.4:16111` or `[2001:db8::1]:16111`.
    public var description: String {
        ip.isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)"
    }
}
