/// Why an outbound TCP connection could not be made. These are the probe's evidence for "private".
public struct DialFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable category.
    public enum Kind: String, Sendable, Hashable {
        /// The target answered with a TCP reset (nothing listens, or a firewall rejects).
        case refused = "connection_refused"
        /// No answer within the connect timeout (dropped by NAT or a firewall, or the host is down).
        case timedOut = "timed_out"
        /// The network or host is unreachable from here (ICMP unreachable, no route).
        case unreachable = "unreachable"
        /// Anything else (resource limits, invalid address).
        case other = "connect_error"
    }

    /// The category.
    public var kind: Kind
    /// The system's words (errno text) or the library's.
    public var message: String

    /// Creates a failure.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `kind: message`.
    public var description: String { "\(kind.rawValue): \(message)" }
}
