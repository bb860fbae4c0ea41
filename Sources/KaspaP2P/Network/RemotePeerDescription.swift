/// Parses the peer descriptions grpc-swift's NIO transport puts in `ServerContext.remotePeer` / `localPeer`:
/// `ipv4:127.0.0.1:31415` and `ipv6:[::1]:443`.
public enum RemotePeerDescription {
    /// The address in `description`, or `nil` when it is not an IPv4/IPv6 socket address.
    public static func parse(_ description: String) -> PeerAddress? {
        if description.hasPrefix("ipv4:") || description.hasPrefix("ipv6:") {
            return PeerAddress(String(description.dropFirst(5)))
        }
        return nil
    }
}
