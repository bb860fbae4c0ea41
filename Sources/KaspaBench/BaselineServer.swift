import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import KaspaP2P

/// The floor cost of a handshake on this stack: a bare grpc-swift-2 `MessageStream` server with the sensor's
/// transport configuration that answers a peer's Version with three canned messages (Version, Verack, Ready) and
/// then waits for the peer to close. No state machine, no events, no sinks. Runs as its own process
/// (`kaspa-bench baseline-server`), like the sensor, so both are measured the same way.
enum BaselineServer {
    /// Listens on 127.0.0.1 (any port), prints `LISTENING <port>` and serves until killed. With
    /// `gzipResponses: false` it answers uncompressed, as the sensor does (``UncompressedAnswers``); with `true`
    /// it compresses its answers whenever the peer accepts gzip, grpc-swift-2's default.
    static func run(gzipResponses: Bool) async throws {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .plaintext,
            config: .defaults { config in
                // As P2PServer configures it.
                config.compression.enabledAlgorithms = .all
                if !gzipResponses {
                    config.channelDebuggingCallbacks.onAcceptHTTP2Stream = UncompressedAnswers.installOnServerStream
                }
                config.rpc.maxRequestPayloadSize = 32 * 1024 * 1024
                config.http2.maxConcurrentStreams = 4
                config.connection.maxIdleTime = .seconds(30)
                config.connection.maxGraceTime = .seconds(5)
            }
        )
        let local = LocalVersion(network: .mainnet, userAgent: "/kaspa-bench-baseline:0.1/")
        let answers = [local.message(), KaspaMessage.verack, KaspaMessage.ready]
        let service = MessageStreamService { inbound, writer, _ in
            do {
                for try await message in inbound {
                    if case .version = message.payload {
                        for answer in answers {
                            try await writer.write(answer)
                        }
                    }
                }
            } catch {
                // The peer left; nothing to record.
            }
        }
        let server = GRPCServer(transport: transport, services: [service])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            let address = try await transport.listeningAddress
            ChildProcesses.printLine("LISTENING \(address.ipv4?.port ?? 0)")
        }
    }
}
