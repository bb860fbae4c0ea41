public import NIOCore
public import NIOHTTP2

/// Makes a grpc-swift-2 server answer every peer uncompressed while it still accepts gzip from them.
///
/// grpc-swift-2 compresses its responses with the first encoding in the request's `grpc-accept-encoding` that the
/// server enables, and for that it allocates a zlib deflate state per stream when the stream opens: about 256 KB
/// of which 87 KB stay resident for the life of the stream (kaspa-bench figure 2b, 148 → 62 KB per idle stream),
/// plus the CPU of compressing a handful of small messages. Kaspa nodes advertise gzip and also accept
/// uncompressed messages (every gRPC peer must: the per-message flag says which), so this handler, first in each
/// stream channel's pipeline, removes `grpc-accept-encoding` from the request headers before grpc-swift-2 reads
/// them, then removes itself. A peer's gzip-compressed messages are still decoded: that depends on the request's
/// `grpc-encoding` and the server's enabled algorithms, which stay as configured.
public final class UncompressedResponses: ChannelInboundHandler, RemovableChannelHandler {
    /// The stream's frames, as the stream channel delivers them.
    public typealias InboundIn = HTTP2Frame.FramePayload
    /// The same frames, passed on.
    public typealias InboundOut = HTTP2Frame.FramePayload

    /// Creates the handler.
    public init() {}

    /// Installs the handler first in `streamChannel`'s pipeline; for
    /// `config.channelDebuggingCallbacks.onAcceptHTTP2Stream` of an `HTTP2ServerTransport.Posix`, which runs before
    /// the stream's first frame is delivered.
    @Sendable
    public static func install(on streamChannel: any Channel) -> EventLoopFuture<Void> {
        streamChannel.eventLoop.makeCompletedFuture {
            try streamChannel.pipeline.syncOperations.addHandler(UncompressedResponses(), position: .first)
        }
    }

    /// Passes the request headers on without `grpc-accept-encoding`, then leaves the pipeline.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers(var request) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        request.headers.remove(name: "grpc-accept-encoding")
        context.fireChannelRead(wrapInboundOut(.headers(request)))
        // Only the request headers matter; later frames need not pass through here.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
