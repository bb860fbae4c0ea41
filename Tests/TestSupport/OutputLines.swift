public import Foundation
public import Synchronization

/// The lines a child process prints, collected by a thread of their own (never the cooperative pool).
public final class OutputLines: Sendable {
    /// Every complete line so far (and, once the pipe closed, an unterminated last line).
    public let lines = Mutex<[String]>([])
    private let closed = Mutex(false)

    /// Starts reading `handle` until end of file.
    public init(reading handle: FileHandle) {
        Thread.detachNewThread { [self] in
            var buffer = Data()
            while case let chunk = DescriptorRead.chunk(handle.fileDescriptor), !chunk.isEmpty {
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    lines.withLock { $0.append(line) }
                }
            }
            if !buffer.isEmpty {
                lines.withLock { $0.append(String(decoding: buffer, as: UTF8.self)) }
            }
            closed.withLock { $0 = true }
        }
    }

    /// True once the writing end closed and every line is in ``lines``.
    public var isClosed: Bool { closed.withLock { $0 } }

    /// Everything read so far, one line per line.
    public var text: String { lines.withLock { $0.joined(separator: "\n") } }
}
