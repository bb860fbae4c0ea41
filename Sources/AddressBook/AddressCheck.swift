public import KaspaP2P

/// Checks gossiped addresses before they are stored or dialed. Gossip is unauthenticated: any peer can advertise
/// anything, so an entry is never dialed unless it passes ``dialRefusal(_:allowPrivate:)``.
public enum AddressCheck {
    /// Why an entry is not even worth storing, or `nil` when it is (port 0, unspecified, multicast, broadcast).
    public static func storageRefusal(_ address: PeerAddress) -> String? {
        if address.port == 0 { return "port 0" }
        if address.ip.isUnspecified { return "unspecified address" }
        switch address.ip {
        case .v4(let a, _, _, _):
            if a >= 224 { return "multicast or reserved address" }
        case .v6(let bytes):
            if bytes[0] == 0xff { return "multicast address" }
        }
        return nil
    }

    /// Why an entry must not be dialed, or `nil` when it may be: stored entries only, and publicly routable ones
    /// unless `allowPrivate` (tests, private networks).
    public static func dialRefusal(_ address: PeerAddress, allowPrivate: Bool) -> String? {
        if let refusal = storageRefusal(address) { return refusal }
        if !allowPrivate && !address.ip.isPubliclyRoutable { return "not publicly routable" }
        return nil
    }
}
