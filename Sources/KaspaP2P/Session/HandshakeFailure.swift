/// Why a handshake did not complete. `code` is a stable identifier recorded in events (`handshake_outcome`);
/// `message` is the detail (for a Reject we send, its reason text).
public struct HandshakeFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, extensible failure category.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The identifier stored in events, e.g. `timeout_version`.
        public var rawValue: String
        /// Creates a code.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The identifier.
        public var description: String { rawValue }

        /// The peer's Version did not arrive in time.
        public static let versionTimeout = Code(rawValue: "timeout_version")
        /// The peer's Verack did not arrive in time.
        public static let verackTimeout = Code(rawValue: "timeout_verack")
        /// The peer's Ready did not arrive in time.
        public static let readyTimeout = Code(rawValue: "timeout_ready")
        /// The peer is on another network; we sent a Reject naming both.
        public static let wrongNetwork = Code(rawValue: "wrong_network")
        /// The peer's Version is malformed (id length, address, subnetwork id).
        public static let malformedVersion = Code(rawValue: "malformed_version")
        /// The peer is ourselves.
        public static let loopback = Code(rawValue: "loopback")
        /// The peer sent a Reject.
        public static let peerRejected = Code(rawValue: "peer_rejected")
        /// The peer ended the stream before the handshake finished.
        public static let closedByPeer = Code(rawValue: "closed_by_peer")
        /// The peer broke the protocol (for example a second Version).
        public static let protocolError = Code(rawValue: "protocol_error")
        /// The stream failed below the Kaspa protocol: undecodable bytes, oversized frames, resets.
        public static let transportError = Code(rawValue: "transport_error")
        /// The sensor is shutting down.
        public static let shutdown = Code(rawValue: "shutdown")
        /// A session stopped on purpose after the peer's Version (``PeerSessionConfiguration/AfterHandshake/stopAtPeerVersion``).
        public static let stoppedAtVersion = Code(rawValue: "stopped_at_version")
        /// The inbound connection limit was reached.
        public static let capacity = Code(rawValue: "over_capacity")
    }

    /// The category.
    public var code: Code
    /// Details for humans.
    public var message: String

    /// Creates a failure.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
