public import NIOCore
public import NIOHTTP2

/// Asks the node we dial to answer uncompressed: removes `grpc-accept-encoding` from our request headers as they
/// leave the stream channel, then leaves the pipeline.
///
/// A gRPC server compresses its answers only in an encoding the client offers there; rusty-kaspa (tonic) follows
/// that, and so does grpc-swift-2, which keeps a zlib deflate state of about 87 KB per stream when it does
/// (kaspa-bench figure 2b). Probes, announcements and crawls exchange a handful of small messages, so asking for
/// them uncompressed saves the node that work and us the inflate state, per dial. A node that compresses anyway is
/// still understood: decoding depends on the answer's `grpc-encoding` and our enabled algorithms, which stay.
public final class NoAcceptEncoding: ChannelOutboundHandler, RemovableChannelHandler {
    /// The stream's outbound frames.
    public typealias OutboundIn = HTTP2Frame.FramePayload
    /// The same frames, passed on.
    public typealias OutboundOut = HTTP2Frame.FramePayload

    /// Creates the handler.
    public init() {}

    /// Installs the handler first in `streamChannel`'s pipeline; for
    /// `config.channelDebuggingCallbacks.onCreateHTTP2Stream` of a grpc-swift-2 client transport.
    @Sendable
    public static func install(on streamChannel: any Channel) -> EventLoopFuture<Void> {
        streamChannel.eventLoop.makeCompletedFuture {
            try streamChannel.pipeline.syncOperations.addHandler(NoAcceptEncoding(), position: .first)
        }
    }

    /// Passes the request headers on without `grpc-accept-encoding`, then leaves the pipeline.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .headers(var request) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        request.headers.remove(name: "grpc-accept-encoding")
        context.write(wrapOutboundOut(.headers(request)), promise: promise)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
