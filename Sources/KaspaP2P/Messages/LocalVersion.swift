public import Foundation

/// What this side says about itself in its `Version` message. The sensor makes a fresh ``LocalVersion`` (with a
/// fresh ``id``) for every connection, so that a dial-back never collides with the peer's other connection to us
/// (a node refuses a second connection with the same id from the same IP). A node, by contrast, sends one id on
/// every connection of its process; a stand-in for a node passes that id.
public struct LocalVersion: Sendable, Hashable {
    /// The protocol version every node since v0.13 accepts: 10 (§4.3 of the protocol notes).
    public static let defaultProtocolVersion: UInt32 = 10
    /// The reference node truncates user agents to this many bytes.
    public static let maxUserAgentBytes = 256

    /// The advertised protocol version.
    public var protocolVersion: UInt32
    /// The network this side is on.
    public var network: KaspaNetwork
    /// 16 random bytes identifying this connection's sender.
    public var id: [UInt8]
    /// `/kaspa-sensor:<version>/` or `/kaspa-sensor:<version>(comment)/`.
    public var userAgent: String
    /// The address to advertise (so the peer may add it to its address book), or `nil` to omit it.
    public var address: PeerAddress?
    /// Whether to ask the peer not to relay transactions (nodes store but do not honour it).
    public var disableRelayTx: Bool

    /// Creates a version with `id`, by default a fresh random one.
    public init(
        network: KaspaNetwork,
        userAgent: String,
        address: PeerAddress? = nil,
        protocolVersion: UInt32 = LocalVersion.defaultProtocolVersion,
        disableRelayTx: Bool = true,
        id: [UInt8] = LocalVersion.makeID()
    ) {
        self.protocolVersion = protocolVersion
        self.network = network
        self.id = id
        self.userAgent = userAgent
        self.address = address
        self.disableRelayTx = disableRelayTx
    }

    /// A new random 16-byte id (a version 4 UUID, like the reference node's).
    public static func makeID() -> [UInt8] {
        withUnsafeBytes(of: UUID().uuid) { Array($0) }
    }

    /// The user agent for this software: `/<name>:<version>/` or `/<name>:<version>(<comment>)/`, BIP-14 style,
    /// truncated to 256 bytes. Characters that would break the format (`/ : ( )`) are removed from the comment.
    public static func userAgent(name: String, version: String, comment: String? = nil) -> String {
        var agent = "/\(name):\(version)"
        if let comment, !comment.isEmpty {
            let cleaned = comment.filter { !"/:()".contains($0) }
            agent += "(\(cleaned))"
        }
        agent += "/"
        return PeerVersion.cut(agent, to: maxUserAgentBytes)
    }

    /// The `Version` message, with the current time in milliseconds.
    public func message(now: Date = Date()) -> KaspaMessage {
        KaspaMessage.with { envelope in
            envelope.version = .with { version in
                version.protocolVersion = protocolVersion
                version.services = 0
                version.timestamp = Int64((now.timeIntervalSince1970 * 1000).rounded())
                if let address {
                    version.address = Protowire_NetAddress(address)
                }
                version.id = Data(id)
                version.userAgent = userAgent
                version.disableRelayTx = disableRelayTx
                version.network = network.wireName
            }
        }
    }
}
