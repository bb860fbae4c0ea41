public import KaspaP2P

/// Whether a peer accepts connections from the Internet.
public enum Classification: String, Sendable, Hashable {
    /// The dial-back reached a Kaspa node: its Version arrived.
    case `public`
    /// The dial-back was refused or timed out (twice): behind NAT or a firewall.
    case `private`
    /// No verdict; the probe outcome says why.
    case unknown
}

/// The label of one peer and the evidence for it.
public struct ProbeResult: Sendable, Hashable {
    /// The label.
    public var classification: Classification
    /// What happened, as a stable identifier: `version_received`, `connection_refused`, `timed_out`,
    /// `tcp_open_no_version`, `unreachable`, `connect_error`, `probing_disabled`, `non_routable_target`,
    /// `probe_queue_full`, `shutdown`.
    public var outcome: String
    /// The error text behind the outcome, if any.
    public var error: String?
    /// What was dialed (always the connection's own remote IP), or `nil` when nothing was dialed.
    public var target: PeerAddress?
    /// How long the probe took (all attempts).
    public var duration: Duration?
    /// Dial attempts made (0, 1 or 2).
    public var attempts: Int
    /// True when this result was reused from the per-target cache.
    public var cached: Bool
    /// The user agent the dialed node sent.
    public var peerUserAgent: String?
    /// The id (hex) the dialed node sent; equal to the inbound peer's id when it is the same node instance.
    public var peerID: String?
    /// The protocol version the dialed node sent.
    public var peerProtocolVersion: UInt32?

    /// A verdict reached without dialing.
    static func notDialed(_ outcome: String, _ error: String, target: PeerAddress?) -> ProbeResult {
        ProbeResult(
            classification: .unknown,
            outcome: outcome,
            error: error,
            target: target,
            duration: nil,
            attempts: 0,
            cached: false
        )
    }
}
