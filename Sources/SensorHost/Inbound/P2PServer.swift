import GRPCCore
import GRPCNIOTransportHTTP2Posix
public import KaspaP2P
public import Logging
import NIOCore
import SensorEvents
public import ServiceLifecycle

/// Listens for Kaspa peers on every configured address (plaintext HTTP/2, gzip accepted) and hands each
/// `MessageStream` to the ``InboundConnectionHandler``.
///
/// On graceful shutdown it stops accepting, lets sessions finish for `shutdownGrace`, then cancels the rest (their
/// events are still emitted, with disconnect reason `sensor_shutdown`) and closes every connection still open, so
/// no peer can keep the process alive.
public final class P2PServer: Service {
    private let addresses: [PeerAddress]
    private let transports: [HTTP2ServerTransport.Posix]
    private let handler: InboundConnectionHandler
    private let shutdownGrace: Duration
    private let attempts: ConnectionAttemptLog?
    private let connections: OpenConnections
    private let logger: Logger

    /// Creates listeners for `addresses` (not yet bound; ``run()`` binds them). A connection that has no open
    /// stream for `silentConnectionTimeout` (before its first, or after its last) is closed; one that ends without
    /// ever opening a stream is recorded in `attempts`, as are connections and streams refused by `limits`.
    public init(
        addresses: [PeerAddress],
        handler: InboundConnectionHandler,
        maxMessageBytes: Int,
        silentConnectionTimeout: Duration,
        metrics: SensorMetrics,
        limits: SensorConfiguration.Limits = .init(),
        maxTCPConnections: Int = .max,
        attempts: ConnectionAttemptLog? = nil,
        shutdownGrace: Duration = .seconds(5),
        logger: Logger
    ) {
        self.handler = handler
        self.shutdownGrace = shutdownGrace
        self.attempts = attempts
        self.logger = logger
        self.addresses = addresses
        let connections = OpenConnections(idleTimeout: TimeAmount(silentConnectionTimeout)) { remote, local, count in
            attempts?.record(
                ConnectionAttempt(
                    kind: .streamEndedEarly, remote: remote, local: local,
                    connectedAtMicros: SensorEvent.nowUnixMicros(), duration: .zero, firstBytes: FirstBytes(),
                    detail: "\(count) stream(s) ended before their session started: reset at once, or a first "
                        + "message that could not be read (too large, compressed without grpc-encoding, not a message)",
                    closedBySensor: false))
        }
        self.connections = connections
        // One stream per peer is what nodes open; a few more are tolerated, not hundreds.
        let admission = ListenerAdmission(
            limiter: SourceLimiter(limits), connections: connections, metrics: metrics, attempts: attempts,
            maxConnections: maxTCPConnections, streamsPerConnection: 4,
            silentConnectionTimeout: TimeAmount(silentConnectionTimeout))
        self.transports = addresses.map { address in
            let socketAddress: GRPCNIOTransportCore.SocketAddress =
                address.ip.isIPv4
                ? .ipv4(host: address.ip.description, port: Int(address.port))
                : .ipv6(host: address.ip.description, port: Int(address.port))
            return HTTP2ServerTransport.Posix(
                address: socketAddress,
                transportSecurity: .plaintext,
                config: .defaults { config in
                    // Nodes gzip every message they send as clients; our answers go out uncompressed (no zlib
                    // deflate state per peer), which every gRPC peer accepts.
                    config.compression.enabledAlgorithms = .all
                    config.channelDebuggingCallbacks.onAcceptHTTP2Stream = admission.acceptStream
                    config.rpc.maxRequestPayloadSize = maxMessageBytes
                    config.http2.maxConcurrentStreams = admission.streamsPerConnection
                    // No maxIdleTime: its timer leaks the connection handler (see OpenConnections, which closes
                    // idle connections itself and, after the shutdown grace, all of them).
                    config.connection.maxIdleTime = nil
                    config.connection.maxGraceTime = .seconds(5)
                    config.channelDebuggingCallbacks.onAcceptTCPConnection = admission.acceptConnection
                }
            )
        }
    }

    /// Peer TCP connections open now.
    public var openConnectionCount: Int { connections.count }

    /// The bound addresses (useful with port 0). Waits until the listeners are up.
    public func listeningAddresses() async throws -> [PeerAddress] {
        var result: [PeerAddress] = []
        for (configured, transport) in zip(addresses, transports) {
            let address: GRPCNIOTransportCore.SocketAddress
            do {
                address = try await transport.listeningAddress
            } catch {
                throw ListenError(
                    role: "Kaspa peers",
                    address: configured.description,
                    key: "[network] listen_address",
                    reason: Self.reason(error)
                )
            }
            if let ipv4 = address.ipv4, let parsed = PeerAddress("\(ipv4.host):\(ipv4.port)") {
                result.append(parsed)
            } else if let ipv6 = address.ipv6, let parsed = PeerAddress("[\(ipv6.host)]:\(ipv6.port)") {
                result.append(parsed)
            }
        }
        return result
    }

    private static func reason(_ error: any Error) -> String {
        var text = String(describing: error)
        if let cause = (error as? RuntimeError)?.cause {
            text = String(describing: cause)
        }
        return text
    }

    /// Serves until graceful shutdown (then drains for `shutdownGrace`) or cancellation.
    public func run() async throws {
        let handler = self.handler
        let connections = self.connections
        let service = MessageStreamService { inbound, writer, context in
            connections.sessionStarted(remotePeer: context.remotePeer, localPeer: context.localPeer)
            await handler.handle(
                inbound: inbound,
                writer: writer,
                remotePeer: context.remotePeer,
                localPeer: context.localPeer
            )
        }
        let servers = transports.map { GRPCServer(transport: $0, services: [service]) }
        let grace = shutdownGrace
        let logger = self.logger
        let addresses = self.addresses
        try await withThrowingTaskGroup(of: Finished.self) { group in
            for (address, server) in zip(addresses, servers) {
                group.addTask {
                    do {
                        try await server.serve()
                    } catch {
                        throw ListenError(
                            role: "Kaspa peers",
                            address: address.description,
                            key: "[network] listen_address",
                            reason: Self.reason(error)
                        )
                    }
                    return .server
                }
            }
            group.addTask {
                do {
                    try await gracefulShutdown()
                } catch {
                    return .graceOver
                }
                logger.info("stopping P2P listeners; open sessions get \(grace) to finish")
                for server in servers { server.beginGracefulShutdown() }
                try? await Task.sleep(for: grace)
                return .graceOver
            }
            if let attempts = self.attempts {
                group.addTask {
                    await attempts.run()
                    return .logged
                }
            }
            group.addTask {
                // Failing to bind is reported by the server task, with the system's reason.
                for address in (try? await self.listeningAddresses()) ?? [] {
                    logger.info("accepting Kaspa peers", metadata: ["address": "\(address)"])
                }
                return .logged
            }
            var serving = servers.count
            while let finished = try await group.next() {
                switch finished {
                case .server:
                    serving -= 1
                case .graceOver:
                    serving = 0  // the grace period is over: cancel what is left
                case .logged:
                    continue
                }
                if serving == 0 { break }
            }
            group.cancelAll()
            // Sessions see the cancellation first (their events say sensor_shutdown); then no connection may
            // outlive the grace, whatever its peer does with GOAWAY.
            let open = connections.count
            if open > 0 {
                logger.info("closing the connections still open after the grace period", metadata: ["open": "\(open)"])
            }
            connections.closeAll()
        }
    }

    private enum Finished: Sendable {
        case server
        case graceOver
        case logged
    }
}
