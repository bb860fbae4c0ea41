import Foundation

/// Reads a segment's records one at a time from a byte offset, checking each length and checksum.
///
/// Not thread safe: used by one reader at a time (journal recovery at startup, or one sink's worker thread).
final class JournalScanner {
    /// One valid record.
    struct Record {
        /// The record's sequence.
        var sequence: UInt64
        /// Where the record starts.
        var offset: Int64
        /// Where the next record starts.
        var end: Int64
    }

    private let descriptor: Int32
    private var header = [UInt8](repeating: 0, count: JournalRecord.headerSize)
    /// The verified payload of the last record ``next()`` returned.
    private(set) var payload: [UInt8] = []
    /// Where the next record is read from.
    var offset: Int64

    /// Opens `path` for reading from `offset`.
    init(path: String, offset: Int64 = 0) throws(JournalFileError) {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw JournalFileError(operation: "cannot open \(path)") }
        self.offset = offset
    }

    deinit {
        close(descriptor)
    }

    /// The next valid record, or `nil` at the end of the file or at the first torn or corrupt record.
    func next() -> Record? {
        let headerRead = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard headerRead == JournalRecord.headerSize else { return nil }
        let (length, checksum) = header.withUnsafeBytes { JournalRecord.header($0) }
        guard length >= 8 && length <= JournalRecord.maxPayloadSize else { return nil }
        if payload.count != length {
            payload = [UInt8](repeating: 0, count: length)
        }
        let payloadOffset = offset + Int64(JournalRecord.headerSize)
        let payloadRead = payload.withUnsafeMutableBytes {
            pread(descriptor, $0.baseAddress, length, off_t(payloadOffset))
        }
        guard payloadRead == length, payload.withUnsafeBytes({ CRC32.checksum($0) }) == checksum else { return nil }
        let record = Record(
            sequence: payload.withUnsafeBytes { JournalRecord.sequence(ofPayload: $0) },
            offset: offset,
            end: payloadOffset + Int64(length)
        )
        offset = record.end
        return record
    }

    /// What ``recoverTail(of:)`` found after a segment's last valid record.
    struct RecoveredTail {
        /// Bytes of valid records.
        var validBytes: Int64
        /// Bytes cut after them.
        var cutBytes: Int64
        /// Whether those bytes began with a record (torn by a crash) rather than never-written reserved space
        /// (zeros: a segment's blocks are reserved ahead of the appends and a crash leaves them in the file).
        var torn: Bool
        /// The last valid record's sequence.
        var lastSequence: UInt64?
    }

    /// Scans `segment` to its last valid record and cuts anything after it: reserved space a crash left behind
    /// and any record torn by it.
    static func recoverTail(of segment: EventJournal.Segment) throws(JournalFileError) -> RecoveredTail {
        let scanner = try JournalScanner(path: segment.path)
        var last: UInt64?
        while let record = scanner.next() {
            last = record.sequence
        }
        let valid = scanner.offset
        let torn = scanner.headerIsWritten()
        if valid < segment.bytes {
            guard truncate(segment.path, off_t(valid)) == 0 else {
                throw JournalFileError(operation: "cannot cut the torn tail of \(segment.path)")
            }
        }
        return RecoveredTail(validBytes: valid, cutBytes: segment.bytes - valid, torn: torn, lastSequence: last)
    }

    /// Whether any byte of a record header at ``offset`` was written (reserved space reads as zeros).
    private func headerIsWritten() -> Bool {
        let read = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        return read > 0 && header[..<read].contains { $0 != 0 }
    }
}
