import Foundation

/// Events read from the spool for one request: complete JSON lines of one segment, in order.
struct SpoolBatch {
    /// The lines' bytes, each line ending in a newline.
    let bytes: [UInt8]
    /// Where each line starts and ends (without its newline) in ``bytes``.
    let lines: [Range<Int>]
    /// The spool position right after the batch's last line.
    let end: Spool.Position

    /// Each line without its newline.
    var events: [ArraySlice<UInt8>] { lines.map { bytes[$0] } }
}

extension Spool {
    /// Reads the next batch at the cursor: at most `maxEvents` lines and `maxBytes` bytes (but always at least one
    /// line, however long), or `nil` when nothing durable follows the cursor. Delivery thread only.
    func readBatch(maxEvents: Int, maxBytes: Int) throws(FileIO.Failure) -> SpoolBatch? {
        let (start, available) = readableRange()
        guard available > 0 else { return nil }
        let path = segmentPath(start.segment)
        let fd = try FileIO.open(path, O_RDONLY)
        defer { close(fd) }
        var want = Int(min(UInt64(maxBytes), available))
        while true {
            let bytes = try FileIO.read(fd, count: want, at: start.offset, path: path)
            var lines: [Range<Int>] = []
            var lineStart = 0
            for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
                if !lines.isEmpty && index + 1 > maxBytes { break }
                lines.append(lineStart..<index)
                lineStart = index + 1
                if lines.count == maxEvents { break }
            }
            if lines.isEmpty {
                // One line longer than maxBytes: read more until its newline (segments end in complete lines).
                guard UInt64(want) < available else { return nil }
                want = Int(min(UInt64(want) * 2, available))
                continue
            }
            let used = lines[lines.count - 1].upperBound + 1
            return SpoolBatch(
                bytes: Array(bytes[..<used]),
                lines: lines,
                end: Position(segment: start.segment, offset: start.offset + UInt64(used))
            )
        }
    }
}
