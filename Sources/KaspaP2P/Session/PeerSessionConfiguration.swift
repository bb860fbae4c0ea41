/// Timeouts and policy for one peer session (either role).
public struct PeerSessionConfiguration: Sendable {
    /// How long to wait for the peer's Version after the session starts.
    public var versionTimeout: Duration
    /// How long to wait for the peer's Verack after the session starts.
    public var verackTimeout: Duration
    /// How long to wait for the peer's Ready after ours was sent.
    public var readyTimeout: Duration
    /// What happens after the handshake.
    public var afterHandshake: AfterHandshake
    /// Rounds of RequestAddresses to send after Ready (each waits for its Addresses; 0 = never ask).
    public var addressRequestRounds: Int
    /// Pause between two RequestAddresses rounds.
    public var addressRequestSpacing: Duration
    /// A session that receives nothing for this long is closed (peers ping every 120 s).
    public var idleTimeout: Duration
    /// `nil`: a session we end is over at once (an inbound RPC ends when its handler returns). Otherwise we end
    /// our side (END_STREAM) and read on for at most this long until the peer ends its side: the polite close of
    /// an outbound stream, which nodes log as a normal disconnect rather than a reset.
    public var closeWait: Duration?

    /// What a session does once the handshake is complete.
    public enum AfterHandshake: Sendable, Hashable {
        /// Stop right after the peer's Version (the quickest proof that a node listens). Nodes log such a close
        /// as a failed handshake, so the sensor's own dial-backs finish the handshake instead
        /// (`closeAfterExchange`).
        case stopAtPeerVersion
        /// Stay until the address exchange is over (the peer's RequestAddresses answered, our rounds done, or
        /// `addressWait` elapsed) and the session is released (``PeerSession/release()``), then linger and close.
        case closeAfterExchange(addressWait: Duration, linger: Duration)
        /// Stay connected, answering Pings and draining invs, until the peer leaves or the idle timeout.
        case stayConnected
    }

    /// Creates a configuration; the defaults are generous versions of the reference node's deadlines.
    public init(
        versionTimeout: Duration = .seconds(10),
        verackTimeout: Duration = .seconds(10),
        readyTimeout: Duration = .seconds(10),
        afterHandshake: AfterHandshake = .closeAfterExchange(addressWait: .seconds(5), linger: .seconds(2)),
        addressRequestRounds: Int = 1,
        addressRequestSpacing: Duration = .milliseconds(250),
        idleTimeout: Duration = .seconds(300),
        closeWait: Duration? = nil
    ) {
        self.versionTimeout = versionTimeout
        self.verackTimeout = verackTimeout
        self.readyTimeout = readyTimeout
        self.afterHandshake = afterHandshake
        self.addressRequestRounds = addressRequestRounds
        self.addressRequestSpacing = addressRequestSpacing
        self.idleTimeout = idleTimeout
        self.closeWait = closeWait
    }
}

/// Callbacks a session makes while it runs. All have empty defaults. Called from the session's task, in order.
///
/// They are synchronous and must not block: whatever an asynchronous callback needed would stay in the session
/// task's memory for the session's whole life (a task keeps its largest allocation), and an idle peer's session
/// lives for hours (benchmark figure 2b). Work that waits belongs on a task of the observer's own.
public protocol PeerSessionObserver: Sendable {
    /// A `stayConnected` session is established: the handshake completed and the session was released. Called at
    /// most once; the host publishes what it knows while the session stays open.
    func sessionSettled(_ version: PeerVersion, handshakeDuration: Duration)
    /// The peer's Version arrived (valid or not); called once, before any Verack is sent.
    func peerVersionReceived(_ version: PeerVersion)
    /// The handshake completed (the peer's Ready arrived).
    func handshakeCompleted()
    /// An Addresses message arrived; `invalid` entries were skipped.
    func addressesReceived(_ addresses: [PeerAddress], invalid: Int, from peer: PeerVersion?)
    /// The addresses to put in our Addresses reply to one of the peer's RequestAddresses (at most 1000).
    func addressesToAdvertise() -> [PeerAddress]
    /// Whether to send another RequestAddresses after `rounds` answered ones (still bounded by
    /// ``PeerSessionConfiguration/addressRequestRounds``); e.g. false once a round brought nothing new.
    func shouldRequestMoreAddresses(afterRounds rounds: Int) -> Bool
}

extension PeerSessionObserver {
    /// Does nothing.
    public func sessionSettled(_ version: PeerVersion, handshakeDuration: Duration) {}
    /// Does nothing.
    public func peerVersionReceived(_ version: PeerVersion) {}
    /// Does nothing.
    public func handshakeCompleted() {}
    /// Does nothing.
    public func addressesReceived(_ addresses: [PeerAddress], invalid: Int, from peer: PeerVersion?) {}
    /// Advertises nothing (an empty Addresses reply, which nodes accept).
    public func addressesToAdvertise() -> [PeerAddress] { [] }
    /// Always true: the configured number of rounds is sent.
    public func shouldRequestMoreAddresses(afterRounds rounds: Int) -> Bool { true }
}

/// An observer that ignores everything.
public struct NoSessionObserver: PeerSessionObserver {
    /// Creates the observer.
    public init() {}
}
