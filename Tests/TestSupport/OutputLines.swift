public import Foundation
public import Synchronization

/// The lines a child process prints, collected by a thread of their own (never the cooperative pool).
public final class OutputLines: Sendable {
    /// Every complete line so far.
    public let lines = Mutex<[String]>([])

    /// Starts reading `handle` until end of file.
    public init(reading handle: FileHandle) {
        Thread.detachNewThread { [self] in
            var buffer = Data()
            while case let chunk = handle.availableData, !chunk.isEmpty {
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    lines.withLock { $0.append(line) }
                }
            }
        }
    }
}
