import KaspaP2P
import NIOPosix
import Synchronization

/// A simulated Kaspa peer: dials the server under test from the next 127.x source address with the real client
/// side (``KaspaDialer`` and ``PeerSession``) and times the handshake from the start of the TCP connect to the
/// server's Ready.
struct LoadClient: Sendable {
    /// Where the server under test listens.
    var target: PeerAddress
    /// The source addresses to spread connections over.
    var sources: SourceAddresses
    /// The event loops the client connections run on.
    var group: MultiThreadedEventLoopGroup
    /// Whether peers use gzip as rusty-kaspa nodes do (messages compressed, gzip offered for answers; the server
    /// then keeps an inflate state per stream); off, they send and ask for uncompressed messages, the lightest
    /// client.
    var gzipLikeNodes = false

    /// What one simulated peer achieved.
    enum Result: Sendable {
        /// The handshake completed after this long.
        case completed(Duration)
        /// It did not; `reason` says why.
        case failed(String)
    }

    /// Connects, completes the handshake and closes at once (the sensor's address request goes unanswered).
    func handshake() async -> Result {
        let timing = HandshakeTiming()
        let outcome = await dial(
            configuration: PeerSessionConfiguration(
                afterHandshake: .closeAfterExchange(addressWait: .zero, linger: .zero),
                addressRequestRounds: 0
            ),
            observer: timing
        )
        return Self.result(outcome, timing: timing)
    }

    /// Connects, completes the handshake, calls `onHandshake` and then stays connected (answering Pings) until
    /// the task is cancelled; returns what happened.
    func stay(onHandshake: @escaping @Sendable (Result) -> Void) async -> Result {
        let timing = HandshakeTiming(onCompleted: onHandshake)
        let outcome = await dial(
            configuration: PeerSessionConfiguration(afterHandshake: .stayConnected, idleTimeout: .seconds(3600)),
            observer: timing,
            deadline: .seconds(3600)
        )
        let result = Self.result(outcome, timing: timing)
        if case .failed = result, !timing.hasCompleted {
            onHandshake(result)
        }
        return result
    }

    private func dial(
        configuration: PeerSessionConfiguration,
        observer: HandshakeTiming,
        deadline: Duration = .seconds(30)
    ) async -> KaspaDialer.Outcome {
        let dialer = KaspaDialer(
            eventLoopGroup: group, maxMessageBytes: 1 << 20, sourceIP: sources.take(), gzipLikeNodes: gzipLikeNodes)
        return await dialer.dial(
            target,
            connectTimeout: .seconds(10),
            deadline: deadline,
            local: LocalVersion(network: .mainnet, userAgent: "/kaspa-bench-peer:0.1/"),
            configuration: configuration,
            observer: observer
        )
    }

    private static func result(_ outcome: KaspaDialer.Outcome, timing: HandshakeTiming) -> Result {
        if let duration = timing.duration {
            return .completed(duration)
        }
        switch outcome {
        case .notConnected(let failure):
            return .failed("connect: \(failure.kind.rawValue)")
        case .notHTTP2:
            return .failed("connect: not_http2")
        case .connected(let report, let error):
            return .failed(report.map { "handshake: \($0.handshakeOutcome)" } ?? "stream: \(error ?? "?")")
        }
    }
}

/// Observes one client session: the time from creation (just before the connect) to handshake completion.
final class HandshakeTiming: PeerSessionObserver, Sendable {
    private let start = ContinuousClock.now
    private let completed = Mutex<Duration?>(nil)
    private let onCompleted: (@Sendable (LoadClient.Result) -> Void)?

    /// Calls `onCompleted` (if any) when the handshake completes.
    init(onCompleted: (@Sendable (LoadClient.Result) -> Void)? = nil) {
        self.onCompleted = onCompleted
    }

    /// The handshake time, once complete.
    var duration: Duration? { completed.withLock { $0 } }

    /// Whether the handshake completed.
    var hasCompleted: Bool { duration != nil }

    func handshakeCompleted() {
        let duration = ContinuousClock.now - start
        completed.withLock { $0 = duration }
        onCompleted?(.completed(duration))
    }
}
