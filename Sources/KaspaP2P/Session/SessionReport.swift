/// What happened during one peer session: the handshake result, the peer's Version, timings and counts.
public struct SessionReport: Sendable {
    /// `nil` when the handshake completed; otherwise why not.
    public var handshakeFailure: HandshakeFailure?
    /// The peer's Version if it arrived (also on failures after it, such as a wrong network).
    public var peerVersion: PeerVersion?
    /// From the start of the session to the peer's Ready (or to the failure).
    public var handshakeDuration: Duration?
    /// From the start of the session to its end.
    public var sessionDuration: Duration
    /// Why the session ended.
    public var disconnectReason: DisconnectReason
    /// Messages received from the peer, all kinds.
    public var messagesReceived: Int
    /// Pings answered with a Pong.
    public var pingsAnswered: Int
    /// Addresses messages sent (one in reply to each of the peer's RequestAddresses).
    public var addressesSent: Int
    /// Addresses received from the peer (valid entries).
    public var addressesReceived: Int
    /// Envelopes whose payload this build does not know (drained).
    public var unknownPayloads: Int
    /// Addresses messages that answered no RequestAddresses of ours (counted, their entries ignored).
    public var unsolicitedAddresses: Int = 0
    /// A `stayConnected` session was settled (``PeerSessionObserver/sessionSettled(_:handshakeDuration:)`` ran).
    public var settled: Bool

    /// `completed` or the failure code.
    public var handshakeOutcome: String { handshakeFailure?.code.rawValue ?? "completed" }
    /// True when the peer's Ready arrived.
    public var handshakeCompleted: Bool { handshakeFailure == nil }
}

/// Why a session ended. `code` is stable (stored in events as `disconnect_reason`), `message` adds detail.
public struct DisconnectReason: Sendable, Hashable, CustomStringConvertible {
    /// A stable identifier such as `closed_by_peer` or `linger_elapsed`.
    public var code: String
    /// Details, possibly empty.
    public var message: String

    /// Creates a reason.
    public init(_ code: String, _ message: String = "") {
        self.code = code
        self.message = message
    }

    /// `code` or `code: message`.
    public var description: String { message.isEmpty ? code : "\(code): \(message)" }

    /// The peer ended its stream.
    public static let closedByPeer = DisconnectReason("closed_by_peer")
    /// We closed after the exchange, the release and the linger (the default polite close).
    public static let lingerElapsed = DisconnectReason("linger_elapsed")
    /// The peer's Version arrived; a probe needs nothing more.
    public static let probeComplete = DisconnectReason("probe_complete")
    /// Nothing arrived for the idle timeout.
    public static let idleTimeout = DisconnectReason("idle_timeout")
    /// The sensor is shutting down.
    public static let shutdown = DisconnectReason("sensor_shutdown")
    /// The sensor was full (stay mode) and gave this peer's slot to a newcomer.
    public static let evicted = DisconnectReason("evicted", "the sensor was full; its slot went to a newer peer")
}
