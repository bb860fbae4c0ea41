import KaspaP2P
import NIOCore
import NIOHTTP2
import SensorEvents

/// Decides, as the listener accepts them, which TCP connections and which streams the sensor takes: the
/// per-source limits (``SourceLimiter``, counted from accept) and the per-connection stream limit, which holds
/// from the first stream on, before the peer has acknowledged our SETTINGS too (swift-nio-http2 enforces the
/// advertised limit only after the ACK, so 100 streams sent at once would all open). What it refuses is closed
/// or reset at once, counted in the metrics and recorded through the ``ConnectionAttemptLog`` (one full event per
/// source, kind and interval, the rest summarised).
///
/// Its two functions are grpc-swift-nio-transport's channel callbacks: a failed future makes the transport close
/// a refused connection before anything of grpc-swift runs for it; a refused stream is reset before its request
/// reaches grpc-swift.
struct ListenerAdmission: Sendable {
    /// The refusal, as the failed future's error.
    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    let limiter: SourceLimiter
    let connections: OpenConnections
    let metrics: SensorMetrics
    let attempts: ConnectionAttemptLog?
    /// Peer TCP connections at once, all sources together (the ``DescriptorBudget``).
    let maxConnections: Int
    /// Streams one connection may hold (the `SETTINGS_MAX_CONCURRENT_STREAMS` the listener advertises).
    let streamsPerConnection: Int
    /// How long a connection may stay without a stream.
    let silentConnectionTimeout: TimeAmount

    /// A TCP connection was accepted: refused over its source's or prefix's limit, else watched until its first
    /// stream (``PreStreamWatcher``) and tracked until it closes (``OpenConnections``).
    func acceptConnection(_ channel: any Channel) -> EventLoopFuture<Void> {
        metrics.tcpConnectionAccepted()
        let remote = channel.remoteAddress.flatMap(PeerAddress.init(socketAddress:))
        if connections.count >= maxConnections {
            return refuse(
                channel, remote: remote, scope: "total",
                detail: "the sensor already holds \(maxConnections) TCP connections ([limits] max_tcp_connections)")
        }
        if let remote {
            if let refusal = limiter.admit(.connection, from: remote.ip) {
                return refuse(channel, remote: remote, scope: refusal.scope, detail: "\(refusal) TCP connections")
            }
            if limiter.isLimited(remote.ip) {
                channel.closeFuture.whenComplete { [limiter] _ in limiter.release(.connection, from: remote.ip) }
            }
        }
        connections.add(channel)
        let attempts = self.attempts
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                PreStreamWatcher(timeout: silentConnectionTimeout) { attempt in attempts?.record(attempt) },
                position: .first
            )
        }
    }

    /// A stream opened on an accepted connection: reset over its connection's, source's or prefix's limit, else
    /// counted until it closes, and answered uncompressed.
    func acceptStream(_ stream: any Channel) -> EventLoopFuture<Void> {
        let connection = stream.parent
        let remote = connection?.remoteAddress.flatMap(PeerAddress.init(socketAddress:))
        if let connection, connections.openStreams(on: connection) >= streamsPerConnection {
            return refuse(
                stream: stream, remote: remote, scope: "connection",
                detail: "its connection already holds \(streamsPerConnection) streams")
        }
        if let remote {
            if let refusal = limiter.admit(.stream, from: remote.ip) {
                return refuse(stream: stream, remote: remote, scope: refusal.scope, detail: "\(refusal) streams")
            }
            if limiter.isLimited(remote.ip) {
                stream.closeFuture.whenComplete { [limiter] _ in limiter.release(.stream, from: remote.ip) }
            }
        }
        PreStreamWatcher.streamOpened(on: stream)
        connections.streamOpened(stream)
        return UncompressedAnswers.installOnServerStream(stream)
    }

    private func refuse(
        _ channel: any Channel, remote: PeerAddress?, scope: String, detail: String
    ) -> EventLoopFuture<Void> {
        metrics.connectionRefused(scope: scope)
        record(.refusedAtAccept, remote: remote, channel: channel, detail: detail)
        channel.close(promise: nil)
        return channel.eventLoop.makeFailedFuture(Refused(description: detail))
    }

    private func refuse(
        stream: any Channel, remote: PeerAddress?, scope: String, detail: String
    ) -> EventLoopFuture<Void> {
        metrics.streamRefused(scope: scope)
        record(.streamRefused, remote: remote, channel: stream.parent ?? stream, detail: detail)
        // Neither failed nor closed here: the initializer runs before swift-nio-http2 tells grpc-swift-nio-transport's
        // connection handler that the stream exists, and the stream's async channel is already made, so either
        // trips an assertion of theirs. Instead the request is sent to a method that does not exist: grpc-swift
        // answers it with UNIMPLEMENTED trailers and ends the stream through its ordinary path, and the sensor's
        // service is never called.
        return stream.eventLoop.makeCompletedFuture {
            try stream.pipeline.syncOperations.addHandler(RefusedStream(), position: .first)
        }
    }

    private func record(_ kind: ConnectionAttempt.Kind, remote: PeerAddress?, channel: any Channel, detail: String) {
        attempts?.record(
            ConnectionAttempt(
                kind: kind, remote: remote, local: channel.localAddress.flatMap(PeerAddress.init(socketAddress:)),
                connectedAtMicros: SensorEvent.nowUnixMicros(), duration: .zero, firstBytes: FirstBytes(),
                detail: detail, closedBySensor: true))
    }
}

/// Sits first on a refused stream and points its request at ``path``, a method no service has.
private final class RefusedStream: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    /// Names the reason in grpc-swift's "not implemented" answer.
    static let path = "/kaspa.sensor.Refused/StreamLimitReached"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers(var headers) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        headers.headers.replaceOrAdd(name: ":path", value: Self.path)
        context.fireChannelRead(wrapInboundOut(.headers(headers)))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

extension PeerAddress {
    /// The IP address and port of a socket address (`nil` for a Unix socket).
    init?(socketAddress address: SocketAddress) {
        guard let ip = address.ipAddress.flatMap({ IPAddress($0) }), let port = address.port,
            let port16 = UInt16(exactly: port)
        else { return nil }
        self.init(ip: ip, port: port16)
    }
}
