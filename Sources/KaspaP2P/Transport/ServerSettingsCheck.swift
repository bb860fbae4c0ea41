import NIOCore
import Synchronization

/// Tells, on a dialed connection, whether the listener speaks HTTP/2: an HTTP/2 server's first frame is its
/// SETTINGS (RFC 9113 §3.4), sent at once without waiting for the client. A listener that sends anything else, or
/// nothing within the timeout, is not a gRPC server, so the dial fails fast instead of waiting for a Kaspa
/// Version that will never come.
///
/// It sits first in the pipeline, passes every byte on unchanged, and removes itself once it has seen the
/// SETTINGS frame header.
final class ServerSettingsCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The check's result, read by the dialer after the connection ended or failed.
    final class Verdict: Sendable {
        private let state = Mutex<String?>(nil)

        /// Why the listener is not an HTTP/2 server, or `nil` (HTTP/2, or not decided).
        var notHTTP2: String? { state.withLock { $0 } }

        fileprivate func fail(_ reason: String) {
            state.withLock { if $0 == nil { $0 = reason } }
        }
    }

    private let timeout: TimeAmount
    private let verdict: Verdict
    private var header: [UInt8] = []
    private var seen = FirstBytes()
    private var timer: Scheduled<Void>?
    private var decided = false

    init(timeout: TimeAmount, verdict: Verdict) {
        self.timeout = timeout
        self.verdict = verdict
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let verdict = self.verdict
        let milliseconds = timeout.nanoseconds / 1_000_000
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let check = loopBound.value
            guard !check.decided else { return }
            check.decided = true
            verdict.fail(
                check.seen.isEmpty
                    ? "TCP open, but nothing was sent within \(milliseconds) ms (an HTTP/2 server sends SETTINGS at once)"
                    : "no HTTP/2 SETTINGS within \(milliseconds) ms; it sent \(check.seen)")
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        seen.append(buffer.readableBytesView.prefix(FirstBytes.limit))
        header.append(contentsOf: buffer.readableBytesView.prefix(9 - header.count))
        guard header.count == 9 else {
            context.fireChannelRead(data)
            return
        }
        decided = true
        timer?.cancel()
        // A frame header: 24-bit length, type (4 = SETTINGS), flags (ACK = 1), stream id 0.
        let isSettings = header[3] == 0x04 && header[4] & 0x01 == 0 && header[5..<9].allSatisfy { $0 == 0 }
        if isSettings {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else {
            verdict.fail("not an HTTP/2 server: it sent \(seen)")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !decided {
            decided = true
            timer?.cancel()
            verdict.fail(
                seen.isEmpty
                    ? "TCP open, but it closed the connection without sending anything"
                    : "it closed the connection without HTTP/2 SETTINGS; it sent \(seen)")
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}
