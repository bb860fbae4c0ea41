import KaspaP2P
import NIOCore
import SensorEvents

/// Watches an accepted TCP connection until it opens its first gRPC stream, so that a connection that never
/// does is still recorded: silent (a port scanner, a half-open socket), another protocol (its first bytes say
/// which), or HTTP/2 without a stream. It closes a connection that has opened no stream within `timeout`
/// (whatever it sent): the deadlines of a connection before its first stream are this handler's.
///
/// It sits first in the pipeline, passes every byte on unchanged, and leaves the pipeline when the first stream
/// opens (``streamOpened(on:)``): from then on the session reports the connection.
final class PreStreamWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The client connection preface of HTTP/2 (RFC 9113 §3.4).
    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let timeout: TimeAmount
    private let report: @Sendable (ConnectionAttempt) -> Void
    private var firstBytes = FirstBytes()
    private var connectedAtMicros: Int64 = 0
    private var connectedAt = NIODeadline.now()
    private var remote: PeerAddress?
    private var local: PeerAddress?
    private var timer: Scheduled<Void>?
    private var closedBySensor = false
    private var streamSeen = false

    init(timeout: TimeAmount, report: @escaping @Sendable (ConnectionAttempt) -> Void) {
        self.timeout = timeout
        self.report = report
    }

    /// Tells the connection's watcher, if it is still there, that `stream` opened; it then leaves the pipeline.
    static func streamOpened(on stream: any Channel) {
        guard let connection = stream.parent,
            let watcher = try? connection.pipeline.syncOperations.handler(type: PreStreamWatcher.self)
        else { return }
        watcher.streamSeen = true
        watcher.timer?.cancel()
        connection.pipeline.syncOperations.removeHandler(watcher, promise: nil)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connectedAtMicros = SensorEvent.nowUnixMicros()
        connectedAt = .now()
        remote = context.channel.remoteAddress.flatMap(PeerAddress.init(socketAddress:))
        local = context.channel.localAddress.flatMap(PeerAddress.init(socketAddress:))
        let channel = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            guard !loopBound.value.streamSeen else { return }
            loopBound.value.closedBySensor = true
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if firstBytes.total < FirstBytes.limit {
            firstBytes.append(unwrapInboundIn(data).readableBytesView.prefix(FirstBytes.limit))
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !streamSeen {
            report(attempt())
        }
        context.fireChannelInactive()
    }

    private func attempt() -> ConnectionAttempt {
        let kind: ConnectionAttempt.Kind
        let detail: String
        let seen = firstBytes.bytes
        let closed = closedBySensor ? "; closed by the sensor after \(timeout.nanoseconds / 1_000_000) ms" : ""
        if firstBytes.isEmpty {
            kind = .silentTCP
            detail = closedBySensor ? "sent nothing\(closed)" : "sent nothing and closed the connection"
        } else if seen.starts(with: Self.preface.prefix(seen.count)) {
            kind = .noGRPCStream
            detail = "spoke HTTP/2 but opened no stream; it sent \(firstBytes)\(closed)"
        } else {
            kind = .notHTTP2
            detail = "not HTTP/2: it sent \(firstBytes)\(closed)"
        }
        return ConnectionAttempt(
            kind: kind, remote: remote, local: local, connectedAtMicros: connectedAtMicros,
            duration: .nanoseconds((NIODeadline.now() - connectedAt).nanoseconds), firstBytes: firstBytes,
            detail: detail, closedBySensor: closedBySensor)
    }
}
