public import NIOCore
public import NIOHTTP2

/// Keeps zlib out of a stream's answers by removing `grpc-accept-encoding` from the request headers, on either side
/// of a grpc-swift-2 stream, then leaving the pipeline.
///
/// A gRPC server compresses its answers only in an encoding the request offers there (grpc-swift-2 and tonic
/// alike), and grpc-swift-2 then keeps a zlib deflate state of about 87 KB per stream (kaspa-bench figure 2b:
/// 152.5 → 65.8 KB per idle stream). Every gRPC peer accepts uncompressed messages (a flag per message says which),
/// and compressed ones stay readable: decoding depends on the sender's `grpc-encoding` and the enabled algorithms,
/// which are left as configured.
/// - ``Role/server``: the sensor's listener reads the peer's request without the offer, so it answers Kaspa nodes
///   (which offer gzip) uncompressed while still reading their gzip.
/// - ``Role/client``: our dials (probes, announcements, crawls) send their requests without the offer, so nodes
///   answer them uncompressed: no zlib work for the node and no inflate state for us, per dial.
public final class UncompressedAnswers: ChannelDuplexHandler, RemovableChannelHandler {
    /// The stream's inbound frames.
    public typealias InboundIn = HTTP2Frame.FramePayload
    /// The same, passed on.
    public typealias InboundOut = HTTP2Frame.FramePayload
    /// The stream's outbound frames.
    public typealias OutboundIn = HTTP2Frame.FramePayload
    /// The same, passed on.
    public typealias OutboundOut = HTTP2Frame.FramePayload

    /// Which side of the stream the handler is on: where the request headers pass.
    public enum Role: Sendable {
        /// A server stream: the request headers are inbound.
        case server
        /// A client stream: the request headers are outbound.
        case client
    }

    private let role: Role

    /// A handler for `role`.
    public init(role: Role) {
        self.role = role
    }

    /// Installs a server-side handler first in `streamChannel`'s pipeline; for
    /// `config.channelDebuggingCallbacks.onAcceptHTTP2Stream` of an `HTTP2ServerTransport.Posix`, which runs before
    /// the stream's first frame is delivered.
    @Sendable
    public static func installOnServerStream(_ streamChannel: any Channel) -> EventLoopFuture<Void> {
        install(.server, on: streamChannel)
    }

    /// Installs a client-side handler first in `streamChannel`'s pipeline; for
    /// `config.channelDebuggingCallbacks.onCreateHTTP2Stream` of a grpc-swift-2 client transport.
    @Sendable
    public static func installOnClientStream(_ streamChannel: any Channel) -> EventLoopFuture<Void> {
        install(.client, on: streamChannel)
    }

    private static func install(_ role: Role, on streamChannel: any Channel) -> EventLoopFuture<Void> {
        streamChannel.eventLoop.makeCompletedFuture {
            try streamChannel.pipeline.syncOperations.addHandler(UncompressedAnswers(role: role), position: .first)
        }
    }

    /// On a server stream, passes the request headers on without the offer, then leaves the pipeline.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard role == .server, case .headers(let request) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        context.fireChannelRead(wrapInboundOut(.headers(Self.withoutOffer(request))))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// On a client stream, sends the request headers without the offer, then leaves the pipeline.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard role == .client, case .headers(let request) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        context.write(wrapOutboundOut(.headers(Self.withoutOffer(request))), promise: promise)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private static func withoutOffer(_ request: HTTP2Frame.FramePayload.Headers) -> HTTP2Frame.FramePayload.Headers {
        var request = request
        request.headers.remove(name: "grpc-accept-encoding")
        return request
    }
}
