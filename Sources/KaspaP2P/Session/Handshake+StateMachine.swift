/// The Kaspa handshake as a value-type state machine, the same for both roles (the protocol is symmetric):
/// send Version at once; Verack in reaction to the peer's Version; Ready once the peer's Version and Verack are
/// both in; complete on the peer's Ready. The driver feeds it messages and performs the actions it returns.
public struct HandshakeStateMachine: Sendable {
    /// What the driver must do after an input.
    public enum Action: Sendable, Equatable {
        /// Write this message to the peer.
        case send(KaspaMessage)
        /// The peer's Version arrived and passed validation (reported once).
        case peerVersionAccepted(PeerVersion)
        /// The handshake is complete: post-handshake traffic may flow.
        case completed
        /// The handshake failed. `reject` is the Reject reason to send first, if any.
        case failed(HandshakeFailure, reject: String?, peerVersion: PeerVersion?)
    }

    /// The step the machine waits for, which decides the driver's deadline.
    public enum Awaiting: Sendable, Equatable {
        /// The peer's Version (and Verack, which cannot come before our Version is read).
        case version
        /// The peer's Verack.
        case verack
        /// The peer's Ready.
        case ready
        /// Nothing: complete or failed.
        case nothing
    }

    /// Where the handshake is. Our Version goes out at the start, so no state waits to send it.
    private enum State: Sendable {
        /// Waiting for the peer's Version; its Verack may already be in (it read our Version first).
        case awaitingVersion(verackReceived: Bool)
        /// The peer's Version is in and our Verack out; waiting for the peer's Verack.
        case awaitingVerack(PeerVersion)
        /// Both are in and our Ready is out; waiting for the peer's Ready.
        case awaitingReady(PeerVersion)
        /// The peer's Ready arrived.
        case completed(PeerVersion)
        /// The handshake failed, possibly after the peer's Version.
        case failed(PeerVersion?)
    }

    private let local: LocalVersion
    private var state = State.awaitingVersion(verackReceived: false)
    /// Messages that are neither handshake messages nor errors, received before the peer's Ready (drained).
    public private(set) var drainedBeforeReady = 0

    /// Creates a machine that speaks for `local`.
    public init(local: LocalVersion) {
        self.local = local
    }

    /// What the machine currently waits for.
    public var awaiting: Awaiting {
        switch state {
        case .awaitingVersion: .version
        case .awaitingVerack: .verack
        case .awaitingReady: .ready
        case .completed, .failed: .nothing
        }
    }

    /// The peer's Version, once it arrived (also when it failed validation).
    public var peerVersion: PeerVersion? {
        switch state {
        case .awaitingVersion: nil
        case .awaitingVerack(let version), .awaitingReady(let version), .completed(let version): version
        case .failed(let version): version
        }
    }

    /// Starts the handshake: our Version goes out at once, before anything is read.
    public mutating func start() -> [Action] {
        [.send(local.message())]
    }

    /// Feeds one message from the peer.
    public mutating func receive(_ message: KaspaMessage) -> [Action] {
        switch (state, message.payload) {
        case (.completed, _), (.failed, _):
            return []
        case (.awaitingVersion(let verackReceived), .version(let version)):
            let decoded = PeerVersion(version)
            if let failure = decoded.validationError(expectedNetwork: local.network, localID: local.id) {
                return fail(failure, reject: failure.message, version: decoded)
            }
            // Verack goes out in reaction to the peer's Version, before anything else; Ready once both are in.
            if verackReceived {
                state = .awaitingReady(decoded)
                return [.peerVersionAccepted(decoded), .send(.verack), .send(.ready)]
            }
            state = .awaitingVerack(decoded)
            return [.peerVersionAccepted(decoded), .send(.verack)]
        case (_, .version):
            return fail(HandshakeFailure(.protocolError, "peer sent a second Version"), reject: nil)
        case (.awaitingVersion(verackReceived: false), .verack):
            state = .awaitingVersion(verackReceived: true)
            return []
        case (.awaitingVerack(let version), .verack):
            state = .awaitingReady(version)
            return [.send(.ready)]
        case (_, .verack):
            return fail(HandshakeFailure(.protocolError, "peer sent a second Verack"), reject: nil)
        case (.awaitingReady(let version), .ready):
            state = .completed(version)
            return [.completed]
        case (_, .ready):
            // Ready before Version/Verack: the peer skipped a step.
            return fail(HandshakeFailure(.protocolError, "peer sent Ready before Version and Verack"), reject: nil)
        case (_, .reject(let reject)):
            let reason = PeerVersion.cut(reject.reason, to: 2048)
            return fail(HandshakeFailure(.peerRejected, reason), reject: nil)
        default:
            // Invs and unknown payloads may race the handshake; they are drained, never answered.
            drainedBeforeReady += 1
            return []
        }
    }

    /// The deadline for the current step passed.
    public mutating func timedOut(after seconds: Double) -> [Action] {
        let code: HandshakeFailure.Code
        switch awaiting {
        case .version: code = .versionTimeout
        case .verack: code = .verackTimeout
        case .ready: code = .readyTimeout
        case .nothing: return []
        }
        let reason = "timeout expired after \(Self.format(seconds))s"
        return fail(HandshakeFailure(code, reason), reject: reason)
    }

    /// The stream ended or failed before completion.
    public mutating func streamEnded(_ failure: HandshakeFailure) -> [Action] {
        guard awaiting != .nothing else { return [] }
        return fail(failure, reject: nil)
    }

    private mutating func fail(_ failure: HandshakeFailure, reject: String?, version: PeerVersion? = nil) -> [Action] {
        let peerVersion = version ?? self.peerVersion
        state = .failed(peerVersion)
        return [.failed(failure, reject: reject, peerVersion: peerVersion)]
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
