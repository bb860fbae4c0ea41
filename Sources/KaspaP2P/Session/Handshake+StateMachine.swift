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

    private let local: LocalVersion
    private(set) var peerVersion: PeerVersion?
    private var verackReceived = false
    private var readySent = false
    private var readyReceived = false
    private var finished = false
    /// Messages that are neither handshake messages nor errors, received before the peer's Ready (drained).
    public private(set) var drainedBeforeReady = 0

    /// Creates a machine that speaks for `local`.
    public init(local: LocalVersion) {
        self.local = local
    }

    /// What the machine currently waits for.
    public var awaiting: Awaiting {
        if finished { return .nothing }
        if peerVersion == nil { return .version }
        if !verackReceived { return .verack }
        return .ready
    }

    /// Starts the handshake: our Version goes out at once, before anything is read.
    public mutating func start() -> [Action] {
        [.send(local.message())]
    }

    /// Feeds one message from the peer.
    public mutating func receive(_ message: KaspaMessage) -> [Action] {
        guard !finished else { return [] }
        switch message.payload {
        case .version(let version):
            guard peerVersion == nil else {
                return fail(HandshakeFailure(.protocolError, "peer sent a second Version"), reject: nil)
            }
            let decoded = PeerVersion(version)
            peerVersion = decoded
            if let failure = decoded.validationError(expectedNetwork: local.network, localID: local.id) {
                return fail(failure, reject: failure.message)
            }
            // Verack goes out in reaction to the peer's Version, before anything else.
            var actions: [Action] = [.peerVersionAccepted(decoded), .send(.verack)]
            actions += readyIfPossible()
            return actions
        case .verack:
            guard !verackReceived else {
                return fail(HandshakeFailure(.protocolError, "peer sent a second Verack"), reject: nil)
            }
            verackReceived = true
            return readyIfPossible()
        case .ready:
            guard peerVersion != nil, verackReceived else {
                // Ready before Version/Verack: the peer skipped a step.
                return fail(HandshakeFailure(.protocolError, "peer sent Ready before Version and Verack"), reject: nil)
            }
            readyReceived = true
            var actions = readyIfPossible()
            finished = true
            actions.append(.completed)
            return actions
        case .reject(let reject):
            let reason = String(decoding: reject.reason.utf8.prefix(2048), as: UTF8.self)
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
        guard !finished else { return [] }
        return fail(failure, reject: nil)
    }

    private mutating func readyIfPossible() -> [Action] {
        guard !readySent, peerVersion != nil, verackReceived else { return [] }
        readySent = true
        return [.send(.ready)]
    }

    private mutating func fail(_ failure: HandshakeFailure, reject: String?) -> [Action] {
        finished = true
        return [.failed(failure, reject: reject, peerVersion: peerVersion)]
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
