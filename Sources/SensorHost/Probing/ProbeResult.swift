public import KaspaP2P

/// Whether a peer accepts connections from the Internet.
public enum Classification: String, Sendable, Hashable {
    /// The dial-back reached this very node: its Version arrived with the inbound peer's id.
    case `public`
    /// The dial-back was refused or timed out (twice): behind NAT or a firewall.
    case `private`
    /// No verdict; the probe outcome says why.
    case unknown
}

/// Where the port a probe dials came from.
public enum ProbePortSource: String, Sendable, Hashable {
    /// The port of the peer's `Version.address`.
    case advertised
    /// The network's default port: the Version named no address (absent, unspecified IP or port 0).
    case `default`
}

/// The label of one peer and the evidence for it.
public struct ProbeResult: Sendable, Hashable {
    /// The label.
    public var classification: Classification
    /// What happened, as a stable identifier (the table in the README's "Dial-back and labels"):
    /// `version_received`, `other_node_answered`, `connection_refused`, `refused_ipv6`, `timed_out`, `not_http2`,
    /// `no_kaspa_version`, `unreachable`, `connect_error`, `no_peer_version`, `no_peer_id`, `probing_disabled`,
    /// `non_routable_target`, `probe_queue_full`, `shutdown`, `not_probed_over_capacity`, `no_remote_address`.
    public var outcome: String
    /// The error text behind the outcome, if any.
    public var error: String?
    /// What was dialed (always the connection's own remote IP), or `nil` when nothing was dialed.
    public var target: PeerAddress?
    /// Where the dialed port came from, when a target was chosen.
    public var portSource: ProbePortSource?
    /// How long the probe took until the label was known (all attempts).
    public var duration: Duration?
    /// Dial attempts made (0, 1 or 2).
    public var attempts: Int
    /// True when this result was reused from the per-target cache.
    public var cached: Bool
    /// The user agent the dialed node sent.
    public var peerUserAgent: String?
    /// The id (hex) the dialed node sent; `public` needs it to equal the inbound peer's id.
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

/// What a probe needs to know about the inbound peer: where it connected from and the Version it sent.
public struct ProbeRequest: Sendable, Hashable {
    /// The connection's own remote IP: the only IP ever dialed.
    public var remoteIP: IPAddress
    /// The inbound peer's Version: its id must come back from the dialed node, its address names the port.
    public var peerVersion: PeerVersion
    /// The network's default port, dialed when the Version names no address.
    public var defaultPort: UInt16

    /// Creates a request.
    public init(remoteIP: IPAddress, peerVersion: PeerVersion, defaultPort: UInt16) {
        self.remoteIP = remoteIP.canonical
        self.peerVersion = peerVersion
        self.defaultPort = defaultPort
    }

    /// The remote IP, on the port of `Version.address` or else the default port (never the advertised IP).
    public var target: PeerAddress {
        PeerAddress(ip: remoteIP, port: peerVersion.address?.port ?? defaultPort)
    }

    /// Where ``target``'s port came from.
    public var portSource: ProbePortSource {
        peerVersion.address == nil ? .default : .advertised
    }

    /// Why this peer cannot be probed at all, or `nil`: without a 16-byte id there is nothing to verify.
    var refusal: ProbeResult? {
        guard peerVersion.idByteCount == PeerVersion.idBytes else {
            return .notDialed(
                "no_peer_id", "its Version carries a \(peerVersion.idByteCount)-byte id, not 16: nothing to verify",
                target: nil)
        }
        return nil
    }

    /// Turns what the dial observed at ``target`` into this peer's label.
    ///
    /// - A Version is proof only when it carries this peer's id: nodes send one id on every connection of a
    ///   process, so another id means another node answered (a neighbour behind the same NAT, a port forward, a
    ///   second node on the host): `unknown`, `other_node_answered`.
    /// - A refusal over IPv6 proves little: rusty-kaspa listens on IPv4 only by default, so a node that reached
    ///   us over IPv6 may refuse IPv6 and still be public over IPv4: `unknown`, `refused_ipv6`, unless its own
    ///   Version names this IPv6 address. A timeout over IPv6 (a firewall dropping) stays `private`.
    func label(_ observed: ProbeResult) -> ProbeResult {
        var result = observed
        result.portSource = portSource
        switch observed.outcome {
        case ProbeOutcome.versionReceived where observed.peerID != peerVersion.idHex:
            result.classification = .unknown
            result.outcome = ProbeOutcome.otherNodeAnswered
            result.error =
                "\(observed.target?.description ?? "the target") answered with id \(observed.peerID ?? "?"), "
                + "not the inbound peer's \(peerVersion.idHex)"
        case DialFailure.Kind.refused.rawValue where !remoteIP.isIPv4 && peerVersion.address?.ip != remoteIP:
            result.classification = .unknown
            result.outcome = ProbeOutcome.refusedIPv6
            result.error =
                "refused over IPv6, and the peer's Version does not name \(remoteIP) (nodes listen on IPv4 only "
                + "by default)" + (observed.error.map { ": \($0)" } ?? "")
        default:
            break
        }
        return result
    }

    /// Whether a result observed at ``target`` earlier may stand for this peer: a Version only when it carried
    /// this peer's id (a node that restarted has a new id, so a mismatch is probed again); anything else is a
    /// fact about the address.
    func mayReuse(_ observed: ProbeResult) -> Bool {
        observed.outcome != ProbeOutcome.versionReceived || observed.peerID == peerVersion.idHex
    }
}

/// The probe outcomes that are not dial failures (``DialFailure/Kind`` holds those).
enum ProbeOutcome {
    static let versionReceived = "version_received"
    static let otherNodeAnswered = "other_node_answered"
    static let refusedIPv6 = "refused_ipv6"
    static let notHTTP2 = "not_http2"
    static let noKaspaVersion = "no_kaspa_version"
    static let noPeerVersion = "no_peer_version"
}
