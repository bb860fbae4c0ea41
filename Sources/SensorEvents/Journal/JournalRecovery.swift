import Foundation
import Logging

/// What opening a journal directory finds and repairs after a crash, before any append: the segments on disk in
/// order, each cut back to its valid records, and the last sequence written.
///
/// A crash can leave three things behind: a torn record at the end of the last segment; reserved, never-written
/// space (zeros) at the end of a segment that was not closed yet (the last one, or one the journal's thread had
/// not closed after a rotation); and the spare segment holding records under its own name (swapped in by a
/// rotation the thread had not finished). All three are repaired here.
enum JournalRecovery {
    /// The repaired directory.
    struct Recovered {
        /// The segments, oldest first (never empty: a new journal gets its first, empty segment).
        var segments: [EventJournal.Segment]
        /// The sequence of the last valid record (0 if there is none).
        var lastSequence: UInt64
    }

    /// Repairs `directory` and lists its segments.
    static func recover(directory: String, logger: Logger) throws(JournalFileError) -> Recovered {
        try adoptSpares(in: directory, logger: logger)
        var segments = try listSegments(in: directory)
        guard let tail = segments.last else {
            let first = EventJournal.Segment(
                firstSequence: 1, path: EventJournal.segmentPath(directory, first: 1), bytes: 0)
            return Recovered(segments: [first], lastSequence: 0)
        }
        for index in segments.indices.dropLast() where endsInZeros(segments[index]) {
            let recovered = try JournalScanner.recoverTail(of: segments[index])
            segments[index].bytes = recovered.validBytes
            report(recovered, of: segments[index].path, logger: logger)
        }
        let recovered = try JournalScanner.recoverTail(of: tail)
        segments[segments.count - 1].bytes = recovered.validBytes
        report(recovered, of: tail.path, logger: logger)
        return Recovered(segments: segments, lastSequence: recovered.lastSequence ?? tail.firstSequence - 1)
    }

    /// Gives each spare that holds records its segment name (its first record's sequence); deletes unused ones.
    private static func adoptSpares(in directory: String, logger: Logger) throws(JournalFileError) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where JournalSegments.isSpare(name) {
            let spare = directory + "/" + name
            guard let first = try JournalScanner(path: spare).next() else {
                unlink(spare)
                continue
            }
            let path = EventJournal.segmentPath(directory, first: first.sequence)
            guard rename(spare, path) == 0 else { throw JournalFileError(operation: "cannot rename \(spare)") }
            logger.info("event journal: named the segment a crash left under the spare's name \(path)")
        }
    }

    private static func report(_ recovered: JournalScanner.RecoveredTail, of path: String, logger: Logger) {
        if recovered.torn {
            logger.warning("event journal: cut a record torn by a crash off \(path) (\(recovered.cutBytes) bytes)")
        } else if recovered.cutBytes > 0 {
            logger.info("event journal: released \(recovered.cutBytes) bytes of reserved space a crash left in \(path)")
        }
    }

    /// Whether the segment's last 8 bytes are zeros: reserved space a crash left before the segment was closed
    /// (a closed segment ends with a record; one that happens to end in zeros is only scanned for nothing).
    private static func endsInZeros(_ segment: EventJournal.Segment) -> Bool {
        guard segment.bytes >= 8 else { return false }
        let descriptor = open(segment.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var last: UInt64 = 1
        return pread(descriptor, &last, 8, off_t(segment.bytes - 8)) == 8 && last == 0
    }

    private static func listSegments(in directory: String) throws(JournalFileError) -> [EventJournal.Segment] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw JournalFileError(operation: "cannot list the directory")
        }
        return entries.compactMap { entry -> EventJournal.Segment? in
            guard entry.hasPrefix("journal-"), entry.hasSuffix(".log"),
                let first = UInt64(entry.dropFirst(8).dropLast(4)), first > 0
            else { return nil }
            let path = directory + "/" + entry
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return EventJournal.Segment(firstSequence: first, path: path, bytes: Int64(info.st_size))
        }.sorted { $0.firstSequence < $1.firstSequence }
    }
}
