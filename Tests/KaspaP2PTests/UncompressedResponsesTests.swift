import GRPCCore
import GRPCNIOTransportHTTP2Posix
import KaspaP2P
import TestSupport
import Testing

/// ``UncompressedResponses``: answers go out uncompressed to a peer that offers gzip, and the peer's gzip is still
/// read. The control (grpc-swift-2's default) shows that the probe would see compression if there were any.
@Suite("Uncompressed responses")
struct UncompressedResponsesTests {
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

    /// A grpc-swift-2 server with gzip enabled that answers a Version with Version, Verack and Ready.
    private func withAnsweringServer<T: Sendable>(
        uncompressed: Bool, _ body: @Sendable (PeerAddress) async throws -> T
    ) async throws -> T {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .plaintext,
            config: .defaults { config in
                config.compression.enabledAlgorithms = .all
                if uncompressed {
                    config.channelDebuggingCallbacks.onAcceptHTTP2Stream = UncompressedResponses.install
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
