public import KaspaP2P

/// What the crawler learnt from one node: whether it answered as a Kaspa node, what it said about itself, and
/// every `Addresses` answer it gave.
public struct NodeVisit: Sendable {
    /// One `Addresses` answer.
    public struct Response: Sendable, Hashable {
        /// Its valid entries, canonical (IPv4-mapped IPv6 as IPv4), in the order sent.
        public var addresses: [PeerAddress]
        /// When it arrived, microseconds since the Unix epoch.
        public var receivedAtMicros: Int64
    }

    /// The address dialed.
    public var address: PeerAddress
    /// True when the node's Version arrived (the proof of a Kaspa node listening there).
    public var reachable: Bool
    /// Why not reachable or why the handshake failed: `connection_refused`, `timed_out`, `unreachable`,
    /// `connect_error`, `not_http2` (no HTTP/2 server: silent, or another protocol), `no_kaspa_version` (a gRPC
    /// server without a Kaspa Version), or `handshake_failed` for a node that answered but refused us.
    public var failure: String?
    /// Details of the failure.
    public var failureDetail: String?
    /// The node's Version.
    public var peerVersion: PeerVersion?
    /// From the start of the dial to the node's Version.
    public var latency: Duration?
    /// The `Addresses` answers in order.
    public var responses: [Response]
    /// When the visit started, microseconds since the Unix epoch.
    public var visitedAtMicros: Int64
}
