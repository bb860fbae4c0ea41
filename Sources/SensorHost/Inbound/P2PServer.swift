import GRPCCore
import GRPCNIOTransportHTTP2Posix
public import KaspaP2P
public import Logging
public import ServiceLifecycle

/// Listens for Kaspa peers on every configured address (plaintext HTTP/2, gzip accepted) and hands each
/// `MessageStream` to the ``InboundConnectionHandler``.
///
/// On graceful shutdown it stops accepting, lets sessions finish for `shutdownGrace`, then cancels the rest (their
/// events are still emitted, with disconnect reason `sensor_shutdown`).
public final class P2PServer: Service {
    private let transports: [HTTP2ServerTransport.Posix]
    private let handler: InboundConnectionHandler
    private let shutdownGrace: Duration
    private let logger: Logger

    /// Creates listeners for `addresses` (not yet bound; ``run()`` binds them).
    public init(
        addresses: [PeerAddress],
        handler: InboundConnectionHandler,
        maxMessageBytes: Int,
        shutdownGrace: Duration = .seconds(5),
        logger: Logger
    ) {
        self.handler = handler
        self.shutdownGrace = shutdownGrace
        self.logger = logger
        self.transports = addresses.map { address in
            let socketAddress: GRPCNIOTransportCore.SocketAddress =
                address.ip.isIPv4
                ? .ipv4(host: address.ip.description, port: Int(address.port))
                : .ipv6(host: address.ip.description, port: Int(address.port))
            return HTTP2ServerTransport.Posix(
                address: socketAddress,
                transportSecurity: .plaintext,
                config: .defaults { config in
                    // Nodes gzip every message they send as clients.
                    config.compression.enabledAlgorithms = .all
                    config.rpc.maxRequestPayloadSize = maxMessageBytes
                    // One stream per peer is what nodes open; a few more are tolerated, not hundreds.
                    config.http2.maxConcurrentStreams = 4
                }
            )
        }
    }

    /// The bound addresses (useful with port 0). Waits until the listeners are up.
    public func listeningAddresses() async throws -> [PeerAddress] {
        var result: [PeerAddress] = []
        for transport in transports {
            let address = try await transport.listeningAddress
            if let ipv4 = address.ipv4, let parsed = PeerAddress("\(ipv4.host):\(ipv4.port)") {
                result.append(parsed)
            } else if let ipv6 = address.ipv6, let parsed = PeerAddress("[\(ipv6.host)]:\(ipv6.port)") {
                result.append(parsed)
            }
        }
        return result
    }

    /// Serves until graceful shutdown (then drains for `shutdownGrace`) or cancellation.
    public func run() async throws {
        let handler = self.handler
        let service = MessageStreamService { inbound, writer, context in
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
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for server in servers {
                group.addTask {
                    try await server.serve()
                    return true
                }
            }
            group.addTask {
                do {
                    try await gracefulShutdown()
                } catch {
                    return false
                }
                logger.info("stopping P2P listeners; open sessions get \(grace) to finish")
                for server in servers { server.beginGracefulShutdown() }
                try? await Task.sleep(for: grace)
                return false
            }
            for address in try await listeningAddresses() {
                logger.info("accepting Kaspa peers", metadata: ["address": "\(address)"])
            }
            var serving = servers.count
            while let finishedServer = try await group.next() {
                if finishedServer {
                    serving -= 1
                    if serving == 0 { break }
                } else {
                    break  // the grace period is over: cancel what is left
                }
            }
            group.cancelAll()
        }
    }
}
