import GRPCCore
import GRPCNIOTransportHTTP2Posix
public import KaspaP2P
import Synchronization

/// A minimal Kaspa node listener: accepts `MessageStream` calls, completes the handshake as a node would
/// (Version at once, Verack, Ready, one Addresses reply, Pongs) and reports every peer Version it receives.
/// The verification command uses it to catch the sensor's dial-back.
public final class NodeEmulator: Sendable {
    private let transport: HTTP2ServerTransport.Posix
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let received: AsyncStream<PeerVersion>.Continuation
    /// Every peer Version received, in order.
    public let versions: AsyncStream<PeerVersion>

    /// Creates an emulator for `address` and `network` (not listening until ``run()``). Like a node, it sends
    /// one `id` on every connection, so the verifier dials the sensor with the same id and the sensor can tell
    /// that the node it dials back is the one that dialed it.
    public init(address: PeerAddress, network: KaspaNetwork, userAgent: String, id: [UInt8]) {
        let (versions, received) = AsyncStream<PeerVersion>.makeStream()
        self.versions = versions
        self.received = received
        transport = HTTP2ServerTransport.Posix(
            address: address.ip.isIPv4
                ? .ipv4(host: address.ip.description, port: Int(address.port))
                : .ipv6(host: address.ip.description, port: Int(address.port)),
            transportSecurity: .plaintext,
            config: .defaults { $0.compression.enabledAlgorithms = .all }
        )
        server = GRPCServer(
            transport: transport,
            services: [emulateNode(network: network, userAgent: userAgent, id: id, received: received)]
        )
    }

    /// Serves until cancelled or ``stop()``.
    public func run() async throws {
        try await server.serve()
    }

    /// Stops accepting and ends the version stream.
    public func stop() {
        server.beginGracefulShutdown()
        received.finish()
    }

    /// The bound address.
    public func listeningAddress() async throws -> PeerAddress? {
        let address = try await transport.listeningAddress
        if let ipv4 = address.ipv4 { return PeerAddress("\(ipv4.host):\(ipv4.port)") }
        if let ipv6 = address.ipv6 { return PeerAddress("[\(ipv6.host)]:\(ipv6.port)") }
        return nil
    }
}

/// Runs one stream as a node would: full handshake, one Addresses reply, then close.
private func emulateNode(
    network: KaspaNetwork,
    userAgent: String,
    id: [UInt8],
    received: AsyncStream<PeerVersion>.Continuation
) -> MessageStreamService {
    MessageStreamService { inbound, writer, _ in
        let session = PeerSession(
            local: LocalVersion(network: network, userAgent: userAgent, id: id),
            configuration: PeerSessionConfiguration(
                afterHandshake: .closeAfterExchange(addressWait: .seconds(2), linger: .zero),
                addressRequestRounds: 0
            ),
            observer: Reporter(received: received)
        )
        session.release()
        _ = await session.run(inbound: inbound, writer: writer)
    }
}

private struct Reporter: PeerSessionObserver {
    let received: AsyncStream<PeerVersion>.Continuation

    func peerVersionReceived(_ version: PeerVersion) {
        received.yield(version)
    }
}
