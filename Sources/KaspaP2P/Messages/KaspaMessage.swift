import Foundation

/// The envelope type the generated code calls `Protowire_KaspadMessage`.
public typealias KaspaMessage = Protowire_KaspadMessage

extension KaspaMessage {
    /// The name of the payload for logs and events (`version`, `ping`, …), or `unknown` for an envelope whose
    /// payload this build does not decode (a newer or IBD message; it arrives as unknown fields).
    public var payloadName: String {
        switch payload {
        case .addresses: return "addresses"
        case .requestAddresses: return "requestAddresses"
        case .invRelayBlock: return "invRelayBlock"
        case .invTransactions: return "invTransactions"
        case .ping: return "ping"
        case .pong: return "pong"
        case .verack: return "verack"
        case .version: return "version"
        case .reject: return "reject"
        case .ready: return "ready"
        case .none: return "unknown"
        }
    }

    /// `Verack` (an empty message that must still be present).
    public static var verack: KaspaMessage {
        .with { $0.verack = Protowire_VerackMessage() }
    }

    /// `Ready`.
    public static var ready: KaspaMessage {
        .with { $0.ready = Protowire_ReadyMessage() }
    }

    /// `RequestAddresses{}` as the reference node sends it.
    public static var requestAddresses: KaspaMessage {
        .with { $0.requestAddresses = Protowire_RequestAddressesMessage() }
    }

    /// `Ping{nonce}`.
    public static func ping(nonce: UInt64) -> KaspaMessage {
        .with { $0.ping = .with { $0.nonce = nonce } }
    }

    /// `Pong{nonce}`: the answer to a Ping with the same nonce.
    public static func pong(nonce: UInt64) -> KaspaMessage {
        .with { $0.pong = .with { $0.nonce = nonce } }
    }

    /// `Reject{reason}`; the reason is truncated to 2048 bytes like the reference node does on receipt (at a
    /// character boundary, so that it stays within them).
    public static func reject(reason: String) -> KaspaMessage {
        .with { $0.reject = .with { $0.reason = PeerVersion.cut(reason, to: 2048) } }
    }

    /// `Addresses{…}` listing `addresses` (4-byte IPv4, 16-byte IPv6, timestamp 0).
    public static func addresses(_ addresses: [PeerAddress]) -> KaspaMessage {
        .with { message in
            message.addresses = .with { $0.addressList = addresses.map(Protowire_NetAddress.init(_:)) }
        }
    }
}

extension Protowire_NetAddress {
    /// Wire form of `address`: IPv4 as 4 bytes, IPv6 as 16 bytes, timestamp left at 0 (omitted on the wire).
    public init(_ address: PeerAddress) {
        self.init()
        self.ip = Data(address.ip.bytes)
        self.port = UInt32(address.port)
    }

    /// The address, or why it is invalid (the reference node rejects IP lengths other than 4/16 and ports above
    /// 65535).
    public func peerAddress() -> Result<PeerAddress, NetAddressError> {
        guard let ip = IPAddress(bytes: Array(self.ip)) else {
            return .failure(NetAddressError(message: "IP has illegal length \(self.ip.count)"))
        }
        guard let port = UInt16(exactly: self.port) else {
            return .failure(NetAddressError(message: "port \(self.port) is out of range"))
        }
        return .success(PeerAddress(ip: ip, port: port))
    }
}

/// A `NetAddress` that cannot be converted, with the reason in the reference node's words.
public struct NetAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with the address.
    public var message: String
    /// The message.
    public var description: String { message }
}
