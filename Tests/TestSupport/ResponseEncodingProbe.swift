import GRPCCore
import GRPCNIOTransportHTTP2Posix
public import KaspaP2P
import NIOCore
import NIOHTTP2
import Synchronization

/// A peer that dials like a rusty-kaspa node (gzip-compressed messages, `grpc-accept-encoding: gzip`), does the
/// handshake (Version at once, Verack to the server's Version, Ready to its Ready) and records how the server's
/// messages arrive on the wire: the response's `grpc-encoding` header and the
/// compressed flag of every message, read from the raw HTTP/2 frames before grpc-swift decodes them.
public enum ResponseEncodingProbe {
    /// What the server sent.
    public struct Observation: Sendable {
        /// The response's `grpc-encoding`, if it sent one.
        public var encoding: String?
        /// The compressed flag (0 or 1) of each message, in order.
        public var messageFlags: [UInt8]
        /// The payload names of the messages, as grpc-swift decoded them.
        public var payloads: [String]
    }

    /// Dials `target`, does the handshake, reads until the server's Ready (or `maxMessages`), then closes.
    public static func observe(_ target: PeerAddress, maxMessages: Int = 8) async throws -> Observation {
        let recorder = FrameRecorder()
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: target.ip.description, port: Int(target.port)),
            transportSecurity: .plaintext,
            config: .defaults { config in
                config.compression = .init(algorithm: .gzip, enabledAlgorithms: .gzip)
                config.channelDebuggingCallbacks.onCreateHTTP2Stream = { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(recorder, position: .first)
                    }
                }
            }
        )
        let payloads = try await withGRPCClient(transport: transport) { client in
            let p2p = Protowire_P2P.Client(wrapping: client)
            var options = CallOptions.defaults
            options.compression = .gzip
            let (outbox, continuation) = AsyncStream<KaspaMessage>.makeStream()
            continuation.yield(LocalVersion(network: .mainnet, userAgent: "/encoding-probe:1/").message())
            let request = StreamingClientRequest<KaspaMessage> { writer in
                for await message in outbox { try await writer.write(message) }
            }
            return try await p2p.messageStream(request: request, options: options) { response in
                var names: [String] = []
                for try await message in response.messages {
                    names.append(message.payloadName)
                    if message.payloadName == "version" { continuation.yield(.verack) }
                    if message.payloadName == "ready" { continuation.yield(.ready) }
                    if names.count >= maxMessages || message.payloadName == "ready" { break }
                }
                continuation.finish()
                return names
            }
        }
        return recorder.observation(payloads: payloads)
    }

    /// Sees the stream's inbound frames first, records them and passes them on unchanged.
    private final class FrameRecorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTP2Frame.FramePayload
        typealias InboundOut = HTTP2Frame.FramePayload

        private struct Recorded {
            var encoding: String?
            var bytes: [UInt8] = []
        }
        private let recorded = Mutex(Recorded())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .headers(let headers):
                if let encoding = headers.headers.first(name: "grpc-encoding") {
                    recorded.withLock { $0.encoding = encoding }
                }
            case .data(let payload):
                if case .byteBuffer(let buffer) = payload.data {
                    recorded.withLock { $0.bytes += buffer.readableBytesView }
                }
            default:
                break
            }
            context.fireChannelRead(data)
        }

        /// The recorded header and the flags of the length-prefixed messages in the recorded DATA bytes.
        func observation(payloads: [String]) -> Observation {
            recorded.withLock { recorded in
                var flags: [UInt8] = []
                var offset = 0
                let bytes = recorded.bytes
                while offset + 5 <= bytes.count {
                    flags.append(bytes[offset])
                    let length = bytes[offset + 1..<offset + 5].reduce(0) { $0 << 8 | Int($1) }
                    offset += 5 + length
                }
                return Observation(encoding: recorded.encoding, messageFlags: flags, payloads: payloads)
            }
        }
    }
}
