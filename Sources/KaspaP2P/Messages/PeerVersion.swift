/// The facts a peer states in its `Version`, decoded and checked the way the reference node checks them.
public struct PeerVersion: Sendable, Hashable {
    /// The protocol version the peer advertises (recorded whatever it is).
    public var protocolVersion: UInt32
    /// The peer's `network` string, e.g. `kaspa-mainnet`, cut to ``maxNetworkBytes``.
    public var network: String
    /// The length in bytes of the `network` string the peer sent (more than ``maxNetworkBytes`` when it was cut).
    public var networkByteCount: Int
    /// The id bytes: all of them when valid (16), at most the first 16 otherwise.
    public var id: [UInt8]
    /// How many id bytes the peer sent (16 when valid).
    public var idByteCount: Int
    /// The user agent, truncated to 256 bytes.
    public var userAgent: String
    /// `Version.address` when present, valid and an address: `nil` when absent, malformed or "no address".
    public var address: PeerAddress?
    /// True when `Version.address` was present but said "no address": an unspecified IP (`0.0.0.0`, `::`,
    /// `::ffff:0.0.0.0`) or port 0. The Go kaspad sends `::ffff:0.0.0.0` port 0 whenever it knows no external
    /// address, so this is an ordinary Version, accepted like one without an address.
    public var addressUnspecified = false
    /// Why `Version.address` is present but unusable, if it is.
    public var addressError: String?
    /// The `services` bit field (nodes send 0).
    public var services: UInt64
    /// The peer's clock, milliseconds since the Unix epoch.
    public var timestampMillis: Int64
    /// The peer's relay preference.
    public var disableRelayTx: Bool
    /// The subnetwork id bytes when present: all of them when valid (20), at most the first 20 otherwise.
    public var subnetworkID: [UInt8]?
    /// How many subnetwork id bytes the peer sent, when it sent the field.
    public var subnetworkIDByteCount: Int?

    /// The longest `network` string kept: the longest real network name (`kaspa-testnet-10`, 16 bytes). A longer
    /// one is a wrong network whatever it says; it is recorded cut, with its length, so that a peer cannot make
    /// the sensor carry megabytes into its Reject, logs, rows and exports.
    public static let maxNetworkBytes = KaspaNetwork.all.map(\.wireName.utf8.count).max() ?? 16
    /// The length of a valid peer id.
    public static let idBytes = 16
    /// The length of a valid subnetwork id.
    public static let subnetworkIDBytes = 20

    /// Decodes the message; never fails (problems are reported by ``validationError(expectedNetwork:localID:)``).
    public init(_ message: Protowire_VersionMessage) {
        protocolVersion = message.protocolVersion
        networkByteCount = message.network.utf8.count
        network = Self.cut(message.network, to: Self.maxNetworkBytes)
        idByteCount = message.id.count
        id = Array(message.id.prefix(Self.idBytes))
        // Cut at a character boundary: decoding a prefix cut inside a character would add a 3-byte U+FFFD and
        // exceed the cap.
        userAgent = Self.cut(message.userAgent, to: LocalVersion.maxUserAgentBytes)
        services = message.services
        timestampMillis = message.timestamp
        disableRelayTx = message.disableRelayTx
        if message.hasSubnetworkID {
            subnetworkIDByteCount = message.subnetworkID.bytes.count
            subnetworkID = Array(message.subnetworkID.bytes.prefix(Self.subnetworkIDBytes))
        }
        if message.hasAddress {
            switch message.address.peerAddress() {
            case .success(let address) where address.ip.isUnspecified || address.port == 0:
                addressUnspecified = true
            case .success(let address): self.address = address
            case .failure(let error): addressError = error.message
            }
        }
    }

    /// `text` cut to at most `limit` bytes of UTF-8, never inside a character.
    static func cut(_ text: String, to limit: Int) -> String {
        let utf8 = text.utf8
        guard utf8.count > limit else { return text }
        var end = utf8.index(utf8.startIndex, offsetBy: limit)
        while end > utf8.startIndex, UTF8.isContinuation(utf8[end]) {
            end = utf8.index(before: end)
        }
        return String(text[..<end])
    }

    /// The id as lowercase hex.
    public var idHex: String { id.hexString }

    /// Why the reference node would refuse this Version, in its Reject wording, or `nil` if acceptable.
    /// Protocol versions are not judged: the sensor records whatever a peer advertises.
    public func validationError(expectedNetwork: KaspaNetwork, localID: [UInt8]) -> HandshakeFailure? {
        if idByteCount != Self.idBytes {
            return HandshakeFailure(.malformedVersion, "invalid peer id length \(idByteCount), expected 16")
        }
        if let addressError {
            return HandshakeFailure(.malformedVersion, addressError)
        }
        if let subnetworkIDByteCount, subnetworkIDByteCount != Self.subnetworkIDBytes {
            return HandshakeFailure(.malformedVersion, "invalid subnetwork id length \(subnetworkIDByteCount)")
        }
        if id == localID {
            return HandshakeFailure(.loopback, "LOOPBACK_CONNECTION")
        }
        if networkByteCount > Self.maxNetworkBytes {
            return HandshakeFailure(
                .wrongNetwork,
                "Network mismatch - local: \(expectedNetwork.wireName), remote: \(network)… "
                    + "(\(networkByteCount) bytes, more than any network's name)"
            )
        }
        if network != expectedNetwork.wireName {
            return HandshakeFailure(
                .wrongNetwork,
                "Network mismatch - local: \(expectedNetwork.wireName), remote: \(network)"
            )
        }
        return nil
    }
}

extension Sequence<UInt8> {
    /// Lowercase hexadecimal.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
