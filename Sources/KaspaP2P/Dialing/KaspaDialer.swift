import GRPCCore
import GRPCNIOTransportHTTP2Posix
public import NIOCore
public import NIOPosix
import Synchronization

/// Dials Kaspa nodes as a gRPC client (`/protowire.P2P/MessageStream` over plaintext HTTP/2) and runs a
/// ``PeerSession`` on the stream.
///
/// The TCP connection is made by the dialer itself (SwiftNIO `ClientBootstrap`) and then handed to grpc-swift's
/// `WrappedChannel` transport, so a refused, timed-out or unreachable connect is reported precisely
/// (``DialFailure``), a listener that is no HTTP/2 server is told apart within a second or so
/// (``Outcome/notHTTP2(_:)``), and a gRPC server that never speaks Kaspa is told apart from both.
///
/// Every dial ends politely: once the session is over, our request stream is ended (HTTP/2 END_STREAM) and the
/// node's side is read to its end for up to ``closeWait``, so a node logs an ordinary closed stream, not a reset.
/// Port 0 is never dialed.
public struct KaspaDialer: Sendable {
    /// The event loops connections run on.
    public var eventLoopGroup: any EventLoopGroup
    /// The largest message accepted from the peer (a legal InvTransactions is about 4.5 MiB).
    public var maxMessageBytes: Int
    /// The local address connections are made from (`nil`: the system's choice). Load generators spread their
    /// connections over many loopback addresses this way, so that ephemeral ports do not run out.
    public var sourceIP: IPAddress?
    /// Whether to use gzip as a rusty-kaspa node does: our messages gzip-compressed and gzip offered for the
    /// answers (load generators use this to cost a server as real nodes do). By default our messages go
    /// uncompressed and uncompressed answers are asked for (``UncompressedAnswers``), which every node accepts.
    public var gzipLikeNodes: Bool
    /// How long the listener may take to send its HTTP/2 SETTINGS after the TCP connect; an HTTP/2 server sends
    /// them at once, so a listener that sends nothing or something else in this time is ``Outcome/notHTTP2(_:)``.
    public var settingsTimeout: Duration
    /// After the session, how long to wait for the node to end its side of the stream before giving up on it.
    public var closeWait: Duration

    /// Creates a dialer.
    public init(
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxMessageBytes: Int,
        sourceIP: IPAddress? = nil,
        gzipLikeNodes: Bool = false,
        settingsTimeout: Duration = .seconds(2),
        closeWait: Duration = .seconds(2)
    ) {
        self.eventLoopGroup = eventLoopGroup
        self.maxMessageBytes = maxMessageBytes
        self.sourceIP = sourceIP
        self.gzipLikeNodes = gzipLikeNodes
        self.settingsTimeout = settingsTimeout
        self.closeWait = closeWait
    }

    /// The outcome of a dial: no TCP connection, a listener that is not an HTTP/2 server, or a connection and what
    /// the session made of it.
    public enum Outcome: Sendable {
        /// TCP failed (or the target's port is 0, which is never dialed).
        case notConnected(DialFailure)
        /// TCP connected, but the listener sent no HTTP/2 SETTINGS in time or sent something else; the text says
        /// what it sent (``FirstBytes``), e.g. an HTTP/1.1 status line.
        case notHTTP2(String)
        /// An HTTP/2 server answered; `report` is `nil` when the gRPC stream did not open (no response headers)
        /// before `deadline`, with `error` saying what happened instead.
        case connected(report: SessionReport?, error: String?)
    }

    /// Connects to `target` within `connectTimeout`, opens the stream and runs a session for `local`, all within
    /// `deadline` (measured from the call). Cancellation ends the attempt.
    public func dial(
        _ target: PeerAddress,
        connectTimeout: Duration,
        deadline: Duration,
        local: LocalVersion,
        configuration: PeerSessionConfiguration,
        observer: any PeerSessionObserver = NoSessionObserver()
    ) async -> Outcome {
        guard target.port != 0 else {
            return .notConnected(DialFailure(.other, "port 0 is never dialed (it means \"no address\")"))
        }
        let start = ContinuousClock.now
        let transport: HTTP2ClientTransport.WrappedChannel
        let verdict = ServerSettingsCheck.Verdict()
        do {
            transport = try await connect(target, timeout: connectTimeout, verdict: verdict)
        } catch {
            return .notConnected(Self.classify(error))
        }
        let remaining = deadline - (ContinuousClock.now - start)
        let outcome: Outcome
        do {
            let report = try await withDeadline(remaining) {
                try await self.runSession(
                    over: transport,
                    local: local,
                    configuration: configuration,
                    observer: observer
                )
            }
            outcome = .connected(report: report, error: nil)
        } catch let error as DeadlineExceeded {
            outcome = .connected(report: nil, error: error.description)
        } catch {
            outcome = .connected(report: nil, error: String(describing: error))
        }
        if case .connected(let report, _) = outcome, report?.peerVersion == nil, let reason = verdict.notHTTP2 {
            return .notHTTP2(reason)
        }
        return outcome
    }

    private func connect(
        _ target: PeerAddress,
        timeout: Duration,
        verdict: ServerSettingsCheck.Verdict
    ) async throws -> HTTP2ClientTransport.WrappedChannel {
        let address = try SocketAddress(ipAddress: target.ip.description, port: Int(target.port))
        let source = try sourceIP.map { try SocketAddress(ipAddress: $0.description, port: 0) }
        let group = eventLoopGroup
        let offerGzip = gzipLikeNodes
        let config = HTTP2ClientTransport.WrappedChannel.Config.defaults { config in
            config.compression = .init(algorithm: .none, enabledAlgorithms: offerGzip ? .gzip : .all)
            if !offerGzip {
                // Ask for uncompressed answers (compressed ones are still decoded).
                config.channelDebuggingCallbacks.onCreateHTTP2Stream = UncompressedAnswers.installOnClientStream
            }
            // `:authority` as tonic sends it ("ip:port" as dialed); some HTTP/2 servers refuse requests without it.
            config.http2.authority = target.description
        }
        // NIO starts its connect timer only when an event loop gets to the connect, which a burst of dials (a
        // thousand probes at once) delays by tens of milliseconds; this deadline counts from the call instead.
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let expired = ConnectDeadlineFlag()
        let settingsTimeout = TimeAmount(self.settingsTimeout)
        do {
            return try await HTTP2ClientTransport.WrappedChannel.wrapping(config: config) { configure in
                var bootstrap = ClientBootstrap(group: group)
                    .connectTimeout(TimeAmount(timeout))
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                if let source {
                    bootstrap = bootstrap.bind(to: source)
                }
                return try await bootstrap.connect(to: address) { channel in
                    channel.eventLoop.scheduleTask(deadline: deadline) {
                        guard !channel.isActive else { return }
                        expired.value.store(true, ordering: .relaxed)
                        channel.close(promise: nil)
                    }
                    do {
                        try channel.pipeline.syncOperations.addHandler(
                            ServerSettingsCheck(timeout: settingsTimeout, verdict: verdict))
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                    return configure(channel)
                }
            }
        } catch {
            if expired.value.load(ordering: .relaxed) {
                throw ChannelError.connectTimeout(TimeAmount(timeout))
            }
            throw error
        }
    }

    private func runSession(
        over transport: HTTP2ClientTransport.WrappedChannel,
        local: LocalVersion,
        configuration: PeerSessionConfiguration,
        observer: any PeerSessionObserver
    ) async throws -> SessionReport {
        try await withGRPCClient(transport: transport) { client in
            let p2p = Protowire_P2P.Client(wrapping: client)
            // The session writes only a handful of messages (handshake, pongs, one Addresses), so the outbox is
            // bounded by the peer's own pace.
            let (outbox, continuation) = AsyncStream<KaspaMessage>.makeStream()
            var options = CallOptions.defaults
            options.maxResponseMessageBytes = maxMessageBytes
            options.compression = gzipLikeNodes ? .gzip : CompressionAlgorithm.none
            let request = StreamingClientRequest<KaspaMessage> { writer in
                for await message in outbox {
                    try await writer.write(message)
                }
            }
            // An outbound session closes politely: END_STREAM on our side, then it reads until the node ends its
            // side (at most `closeWait`), a graceful close instead of a reset.
            var configuration = configuration
            configuration.closeWait = closeWait
            let session = PeerSession(local: local, configuration: configuration, observer: observer)
            let timerLoop = eventLoopGroup.next()
            let writer = MessageWriter({ message in continuation.yield(message) }, finish: { continuation.finish() })
            // An outbound session waits for no probe of its own: it closes once the exchange and linger are over.
            session.release()
            return try await p2p.messageStream(request: request, options: options) { response in
                await session.run(inbound: response.messages, writer: writer, timerLoop: timerLoop)
            }
        }
    }

    /// Maps connect errors to the probe's evidence categories.
    static func classify(_ error: any Error) -> DialFailure {
        if let error = error as? ChannelError, case .connectTimeout = error {
            return DialFailure(.timedOut, "no answer within the connect timeout")
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first {
                return classify(first.error)
            }
            return DialFailure(.other, String(describing: error))
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return DialFailure(.refused, error.description)
            case ETIMEDOUT: return DialFailure(.timedOut, error.description)
            case EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL: return DialFailure(.unreachable, error.description)
            default: return DialFailure(.other, error.description)
            }
        }
        return DialFailure(.other, String(describing: error))
    }
}

/// Set when a dial's own connect deadline closed the channel before it connected.
private final class ConnectDeadlineFlag: Sendable {
    let value = Atomic(false)
}
