import KaspaP2P
import NIOCore
import NIOHTTP2
import NIOPosix

/// The floor one level below grpc-swift-2: a Kaspa `MessageStream` endpoint written straight on swift-nio-http2,
/// as a sensor that left grpc-swift-2 for its inbound side would be. One `NIOHTTP2Handler` per connection and one
/// ``GRPCFloorStreamHandler`` behind it that reads HTTP/2 frames directly (no child channel per stream, no
/// per-stream task, no zlib state: messages it sends are uncompressed, which every gRPC peer accepts). It answers
/// a Version with Version, Verack and Ready and a Ping with a Pong, like ``BaselineServer``. A measuring
/// instrument, not a server: it handles the handshake and idle peers (a few hundred bytes per stream) and sends no
/// flow-control updates of its own.
enum HTTP2FloorServer {
    /// Listens on 127.0.0.1 (any port), prints `LISTENING <port>` and serves until killed.
    static func run() async throws {
        let local = LocalVersion(network: .mainnet, userAgent: "/kaspa-bench-floor:0.1/")
        let answers = try GRPCFloorStreamHandler.framed([local.message(), KaspaMessage.verack, KaspaMessage.ready])
        let settings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 4),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16384),
        ]
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(NIOHTTP2Handler(mode: .server, initialSettings: settings))
                    try operations.addHandler(GRPCFloorStreamHandler(answers: answers))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        ChildProcesses.printLine("LISTENING \(channel.localAddress?.port ?? 0)")
        try await channel.closeFuture.get()
    }
}
