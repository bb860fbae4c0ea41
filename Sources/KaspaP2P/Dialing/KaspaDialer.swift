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
/// (``DialFailure``) and a target whose TCP port is open but which never speaks Kaspa is told apart from it.
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

    /// Creates a dialer.
    public init(
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxMessageBytes: Int,
        sourceIP: IPAddress? = nil,
        gzipLikeNodes: Bool = false
    ) {
        self.eventLoopGroup = eventLoopGroup
        self.maxMessageBytes = maxMessageBytes
        self.sourceIP = sourceIP
        self.gzipLikeNodes = gzipLikeNodes
    }

    /// The outcome of a dial: either no TCP connection, or a connection and what the session made of it.
    public enum Outcome: Sendable {
        /// TCP failed.
        case notConnected(DialFailure)
        /// TCP connected; `report` is `nil` when the peer never opened the gRPC stream (no HTTP/2, no response
        /// headers) before `deadline`, with `error` saying what happened instead.
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
        let start = ContinuousClock.now
        let transport: HTTP2ClientTransport.WrappedChannel
        do {
            transport = try await connect(target, timeout: connectTimeout)
        } catch {
            return .notConnected(Self.classify(error))
        }
        let remaining = deadline - (ContinuousClock.now - start)
        do {
            let report = try await withDeadline(remaining) {
                try await self.runSession(
                    over: transport,
                    local: local,
                    configuration: configuration,
                    observer: observer
                )
            }
            return .connected(report: report, error: nil)
        } catch let error as DeadlineExceeded {
            return .connected(report: nil, error: error.description)
        } catch {
            return .connected(report: nil, error: String(describing: error))
        }
    }

    private func connect(_ target: PeerAddress, timeout: Duration) async throws -> HTTP2ClientTransport.WrappedChannel {
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
            return try await p2p.messageStream(request: request, options: options) { response in
                let session = PeerSession(local: local, configuration: configuration, observer: observer)
                // An outbound session waits for no probe of its own: it closes once the exchange and linger are over.
                session.release()
                let report = await session.run(
                    inbound: response.messages,
                    writer: MessageWriter { message in continuation.yield(message) }
                )
                continuation.finish()
                return report
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
