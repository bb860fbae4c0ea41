/// The facts a peer states in its `Version`, decoded and checked the way the reference node checks them.
public struct PeerVersion: Sendable, Hashable {
    /// The protocol version the peer advertises (recorded whatever it is).
    public var protocolVersion: UInt32
    /// The peer's `network` string, e.g. `kaspa-mainnet`.
    public var network: String
    /// The raw id bytes (16 when valid).
    public var id: [UInt8]
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
    /// The subnetwork id bytes when present.
    public var subnetworkID: [UInt8]?

    /// Decodes the message; never fails (problems are reported by ``validationError(expectedNetwork:localID:)``).
    public init(_ message: Protowire_VersionMessage) {
        protocolVersion = message.protocolVersion
        network = message.network
        id = Array(message.id)
        userAgent = String(decoding: message.userAgent.utf8.prefix(LocalVersion.maxUserAgentBytes), as: UTF8.self)
        services = message.services
        timestampMillis = message.timestamp
        disableRelayTx = message.disableRelayTx
        subnetworkID = message.hasSubnetworkID ? Array(message.subnetworkID.bytes) : nil
        if message.hasAddress {
            switch message.address.peerAddress() {
            case .success(let address) where address.ip.isUnspecified || address.port == 0:
                addressUnspecified = true
            case .success(let address): self.address = address
            case .failure(let error): addressError = error.message
            }
        }
    }

    /// The id as lowercase hex.
    public var idHex: String { id.hexString }

    /// Why the reference node would refuse this Version, in its Reject wording, or `nil` if acceptable.
    /// Protocol versions are not judged: the sensor records whatever a peer advertises.
    public func validationError(expectedNetwork: KaspaNetwork, localID: [UInt8]) -> HandshakeFailure? {
        if id.count != 16 {
            return HandshakeFailure(.malformedVersion, "invalid peer id length \(id.count), expected 16")
        }
        if let addressError {
            return HandshakeFailure(.malformedVersion, addressError)
        }
        if let subnetworkID, subnetworkID.count != 20 {
            return HandshakeFailure(.malformedVersion, "invalid subnetwork id length \(subnetworkID.count)")
        }
        if id == localID {
            return HandshakeFailure(.loopback, "LOOPBACK_CONNECTION")
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
