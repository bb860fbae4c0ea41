import GRPCCore
import GRPCNIOTransportHTTP2Posix
import KaspaP2P
import NIOCore
import NIOHTTP2
import Synchronization
import TestSupport
import Testing

/// ``UncompressedAnswers``: answers go out uncompressed to a peer that offers gzip, and the peer's gzip is still
/// read. The control (grpc-swift-2's default) shows that the probe would see compression if there were any.
@Suite("Uncompressed answers")
struct UncompressedAnswersTests {
    @Test("With the handler a gzip-offering peer gets uncompressed answers and its gzip Version is still read")
    func answersUncompressed() async throws {
        let observation = try await withAnsweringServer(uncompressed: true) { address in
            try await ResponseEncodingProbe.observe(address)
        }
        #expect(observation.payloads == ["version", "verack", "ready"])
        #expect(observation.encoding == nil || observation.encoding == "identity")
        #expect(observation.messageFlags == [0, 0, 0])
    }

    @Test("Without it grpc-swift-2 answers such a peer in gzip (the control)")
    func defaultCompresses() async throws {
        let observation = try await withAnsweringServer(uncompressed: false) { address in
            try await ResponseEncodingProbe.observe(address)
        }
        #expect(observation.payloads == ["version", "verack", "ready"])
        #expect(observation.encoding == "gzip")
        #expect(observation.messageFlags.contains(1))
    }

    @Test(
        "By default the dialer asks for uncompressed answers (no grpc-accept-encoding); like a node it gzips both ways",
        arguments: [false, true])
    func dialerCompression(gzipLikeNodes: Bool) async throws {
        let headers = HeaderRecorder()
        let outcome = try await withAnsweringServer(uncompressed: false, recorder: headers) { address in
            await KaspaDialer(maxMessageBytes: 1 << 20, gzipLikeNodes: gzipLikeNodes).dial(
                address, connectTimeout: .seconds(2), deadline: .seconds(10),
                local: LocalVersion(network: .mainnet, userAgent: "/dialer:1/"),
                configuration: PeerSessionConfiguration(afterHandshake: .stopAtPeerVersion))
        }
        guard case .connected(let report?, _) = outcome else {
            Issue.record("expected a session, got \(outcome)")
            return
        }
        #expect(report.peerVersion?.userAgent == "/answering-node:1/")
        let seen = headers.seen.withLock { $0 }
        #expect(seen.requestAcceptEncoding == (gzipLikeNodes ? ["gzip"] : []))
        #expect(seen.requestEncoding == (gzipLikeNodes ? "gzip" : nil))
        #expect(seen.responseEncoding == (gzipLikeNodes ? "gzip" : nil))
    }

    /// Records, on the server's stream, the request's encoding headers and the response's `grpc-encoding`.
    private final class HeaderRecorder: ChannelDuplexHandler, Sendable {
        typealias InboundIn = HTTP2Frame.FramePayload
        typealias OutboundIn = HTTP2Frame.FramePayload

        struct Seen {
            var requestAcceptEncoding: [String]?
            var requestEncoding: String?
            var responseEncoding: String?
        }
        let seen = Mutex(Seen())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .headers(let request) = unwrapInboundIn(data) {
                seen.withLock { seen in
                    if seen.requestAcceptEncoding == nil {
                        let offered = request.headers[canonicalForm: "grpc-accept-encoding"]
                        seen.requestAcceptEncoding = offered.map { String($0) }
                        seen.requestEncoding = request.headers.first(name: "grpc-encoding")
                    }
                }
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .headers(let response) = unwrapOutboundIn(data),
                let encoding = response.headers.first(name: "grpc-encoding")
            {
                seen.withLock { $0.responseEncoding = encoding }
            }
            context.write(data, promise: promise)
        }
    }

    /// A grpc-swift-2 server with gzip enabled that answers a Version with Version, Verack and Ready; `recorder`
    /// (if any) sees each stream's frames first.
    private func withAnsweringServer<T: Sendable>(
        uncompressed: Bool, recorder: HeaderRecorder? = nil, _ body: @Sendable (PeerAddress) async throws -> T
    ) async throws -> T {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .plaintext,
            config: .defaults { config in
                config.compression.enabledAlgorithms = .all
                if uncompressed {
                    config.channelDebuggingCallbacks.onAcceptHTTP2Stream = UncompressedAnswers.installOnServerStream
                } else if let recorder {
                    config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(recorder, position: .first)
                        }
                    }
                }
            }
        )
        let answers = [
            LocalVersion(network: .mainnet, userAgent: "/answering-node:1/").message(), KaspaMessage.verack,
            KaspaMessage.ready,
        ]
        let server = GRPCServer(
            transport: transport,
            services: [
                MessageStreamService { inbound, writer, _ in
                    do {
                        for try await message in inbound where message.payloadName == "version" {
                            for answer in answers { try await writer.write(answer) }
                        }
                    } catch {
                        // The probe closed the stream.
                    }
                }
            ]
        )
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await server.serve()
                return nil
            }
            let port = try await transport.listeningAddress.ipv4!.port
            let result = try await body(PeerAddress("127.0.0.1:\(port)")!)
            server.beginGracefulShutdown()
            group.cancelAll()
            return result
        }
    }
}
