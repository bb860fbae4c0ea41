import KaspaP2P
import NIOCore
import NIOHPACK
import NIOHTTP2
import SwiftProtobuf
import TestSupport

/// The gRPC framing of ``HTTP2FloorServer``, on the connection's HTTP/2 frames: answers each request's HEADERS with
/// `200 application/grpc`, splits DATA into length-prefixed messages, inflates compressed ones (a zlib state per
/// message, none kept per stream), decodes each as a `KaspadMessage` and answers Version and Ping. A request that
/// ends gets `grpc-status: 0` trailers.
final class GRPCFloorStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// The 5-byte gRPC prefix (compressed flag, big-endian length) of every message.
    private static let prefixLength = 5

    private let answers: ByteBuffer
    /// Bytes received on each open stream that do not yet form a whole message.
    private var pending: [HTTP2StreamID: ByteBuffer] = [:]

    /// A handler that answers a Version with `answers` (already framed).
    init(answers: ByteBuffer) {
        self.answers = answers
    }

    /// `messages` serialized and framed as one gRPC DATA payload.
    static func framed(_ messages: [KaspaMessage]) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        for message in messages {
            let bytes: [UInt8] = try message.serializedBytes()
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(bytes.count))
            buffer.writeBytes(bytes)
        }
        return buffer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if pending[frame.streamID] == nil {
                pending[frame.streamID] = ByteBuffer()
                let response: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
                context.write(
                    wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .headers(.init(headers: response)))),
                    promise: nil)
            }
            if headers.endStream { finish(frame.streamID, context: context) }
        case .data(let payload):
            guard case .byteBuffer(var bytes) = payload.data else { return }
            pending[frame.streamID, default: ByteBuffer()].writeBuffer(&bytes)
            do {
                try answerWholeMessages(on: frame.streamID, context: context)
            } catch {
                context.close(promise: nil)
                return
            }
            if payload.endStream { finish(frame.streamID, context: context) }
        case .rstStream:
            pending[frame.streamID] = nil
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private struct UndecodableMessage: Error {}

    private func answerWholeMessages(on stream: HTTP2StreamID, context: ChannelHandlerContext) throws {
        while var buffer = pending[stream], buffer.readableBytes >= Self.prefixLength,
            let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self),
            buffer.readableBytes >= Self.prefixLength + Int(length)
        {
            buffer.moveReaderIndex(forwardBy: Self.prefixLength)
            let bytes = buffer.readBytes(length: Int(length)) ?? []
            guard let serialized = flag == 0 ? bytes : Gunzip.decode(bytes) else { throw UndecodableMessage() }
            let message = try KaspaMessage(serializedBytes: serialized)
            buffer.discardReadBytes()
            pending[stream] = buffer
            switch message.payload {
            case .version:
                write(answers, on: stream, context: context)
            case .ping(let ping):
                write(try Self.framed([KaspaMessage.pong(nonce: ping.nonce)]), on: stream, context: context)
            default:
                break
            }
        }
    }

    private func write(_ bytes: ByteBuffer, on stream: HTTP2StreamID, context: ChannelHandlerContext) {
        let frame = HTTP2Frame(streamID: stream, payload: .data(.init(data: .byteBuffer(bytes))))
        context.write(wrapOutboundOut(frame), promise: nil)
    }

    private func finish(_ stream: HTTP2StreamID, context: ChannelHandlerContext) {
        pending[stream] = nil
        let trailers: HPACKHeaders = ["grpc-status": "0"]
        let frame = HTTP2Frame(streamID: stream, payload: .headers(.init(headers: trailers, endStream: true)))
        context.write(wrapOutboundOut(frame), promise: nil)
    }
}
