import Foundation

/// The spool's persisted read position: the file `cursor` in the spool folder, one line
/// `v1 <segment> <offset>`, replaced atomically (temporary file, fsync, rename, fsync of the folder).
enum SpoolCursor {
    /// The saved position, or `nil` if there is none (or it is unreadable: delivery then restarts at the first
    /// segment, which at worst sends events again — receivers dedupe on `event_id`).
    static func load(directory: String) -> Spool.Position? {
        guard let text = try? String(contentsOfFile: directory + "/cursor", encoding: .utf8) else { return nil }
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard parts.count == 3, parts[0] == "v1", let segment = UInt64(parts[1]), let offset = UInt64(parts[2]) else {
            return nil
        }
        return Spool.Position(segment: segment, offset: offset)
    }

    /// Saves `position` durably.
    static func save(_ position: Spool.Position, directory: String) throws(FileIO.Failure) {
        try FileIO.replaceAtomically(directory + "/cursor", with: "v1 \(position.segment) \(position.offset)\n")
    }
}

/// The length and line count of one segment found at startup; a torn last line (no newline: the sensor stopped
/// in the middle of an append that was never acknowledged) is cut off the file.
struct SegmentScan {
    /// The length of the segment's complete lines.
    let length: UInt64
    /// Complete lines from the scan's start offset on.
    let lines: Int

    /// Scans `path` from `offset`.
    init(path: String, from offset: UInt64) throws(FileIO.Failure) {
        let fd = try FileIO.open(path, O_RDWR)
        defer { close(fd) }
        let size = FileIO.size(path) ?? 0
        var position = min(offset, size)
        var lines = 0
        var end = position
        let chunk = 1 << 20
        while position < size {
            let bytes = try FileIO.read(fd, count: min(chunk, Int(size - position)), at: position, path: path)
            if bytes.isEmpty { break }
            for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
                lines += 1
                end = position + UInt64(index) + 1
            }
            position += UInt64(bytes.count)
        }
        if offset < size, end < size {
            guard ftruncate(fd, off_t(end)) == 0 else {
                throw FileIO.Failure(operation: "truncate \(path)", code: errno)
            }
            try FileIO.syncData(fd, path: path)
        }
        self.length = offset >= size ? size : end
        self.lines = lines
    }
}
