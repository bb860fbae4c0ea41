import Foundation
import Synchronization

/// The journal's sequence numbers: the last one appended and a persisted high-water mark (`sequence-reserved`
/// beside the segments), so that no sequence is ever handed out twice: not after a journal cut (a torn tail), not
/// after a power loss that took records the kernel had not written back, not after an operator deleted segments.
/// The segments alone cannot say which numbers were used, because events are delivered from memory before (or
/// without) reaching disk.
///
/// Numbers are reserved ahead in blocks, so the file is written and synced about once per ``blockSize`` events,
/// not per event; the journal's thread extends the reservation when half a block is left, so an append only waits
/// for it when that thread has fallen behind. After an unclean stop numbering resumes above the whole reservation
/// (a gap of at most a block and a half, which readers do not count as missing events); a clean close records the
/// exact last sequence, so a normal restart leaves no gap.
///
/// The file holds the value and its bitwise complement (16 bytes, one `pwrite` within one sector), so a damaged
/// file is recognised and ignored rather than trusted; sink cursors ahead of the journal are then the last line
/// of defence (see ``EventJournal/openCursorCheckingPosition(sinkName:)``).
final class JournalNumbering: Sendable {
    /// Sequences reserved per write of the file.
    static let blockSize: UInt64 = 65_536
    /// The file's name inside the journal directory.
    static let fileName = "sequence-reserved"

    /// The file's path.
    let path: String
    /// What the file said when it was opened: `nil` if it did not exist or was damaged.
    let stored: UInt64?
    /// The last sequence found in the segments at open; numbers above it and below ``firstOfRun`` were never
    /// written by this run and are not missing events.
    let recoveredLast: UInt64
    private let descriptor: Int32
    private let lastAppended: Atomic<UInt64>
    /// The first sequence this run may hand out; raised (before any append) by a cursor found ahead.
    private let firstOfRunValue: Atomic<UInt64>
    /// The highest sequence reserved in the file, under the lock that serialises writes of the file.
    private let reserved: Mutex<UInt64>
    /// ``reserved`` for the append path's check, without the lock.
    private let reservedHint: Atomic<UInt64>

    /// Opens (or creates) the file in `directory`, starts numbering above both the mark and `recoveredLast` (the
    /// last record in the segments), and reserves the first block.
    init(directory: String, recoveredLast: UInt64) throws(JournalFileError) {
        let path = directory + "/" + Self.fileName
        let existed = access(path, F_OK) == 0
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw JournalFileError(operation: "cannot open \(path)") }
        var words: (UInt64, UInt64) = (0, 0)
        let count = pread(descriptor, &words, 16, 0)
        let value = UInt64(littleEndian: words.0)
        let stored = count == 16 && value == ~UInt64(littleEndian: words.1) ? value : nil
        let start = max(stored ?? 0, recoveredLast)
        self.path = path
        self.stored = stored
        self.recoveredLast = recoveredLast
        self.descriptor = descriptor
        self.lastAppended = Atomic(start)
        self.firstOfRunValue = Atomic(start + 1)
        self.reserved = Mutex(stored ?? 0)
        self.reservedHint = Atomic(stored ?? 0)
        if !existed {
            // The new file's name must survive a power loss too.
            let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directoryDescriptor >= 0 {
                fsync(directoryDescriptor)
                close(directoryDescriptor)
            }
        }
        try reserve(beyond: start)
    }

    deinit {
        close(descriptor)
    }

    /// The sequence of the last event appended (or where numbering resumes, before the first append).
    var last: UInt64 { lastAppended.load(ordering: .acquiring) }

    /// The first sequence handed out in this run (numbers from ``recoveredLast`` + 1 below it were skipped).
    var firstOfRun: UInt64 { firstOfRunValue.load(ordering: .acquiring) }

    /// What the journal must do after ``noteAppended(_:)``.
    enum Reservation {
        /// Nothing: the reservation reaches well beyond.
        case ample
        /// Half a block or less is left: the journal's thread should extend it.
        case low
        /// The sequence was not reserved yet and has just been, synchronously (the thread had fallen behind);
        /// carries the error if the file could not be written.
        case extendedInline(JournalFileError?)
    }

    /// Records `sequence` as the last one appended; reserves it first if the journal's thread has fallen behind. If
    /// the file cannot be written, the next try is a block later.
    func noteAppended(_ sequence: UInt64) -> Reservation {
        lastAppended.store(sequence, ordering: .releasing)
        let reservedThrough = reservedHint.load(ordering: .acquiring)
        if sequence > reservedThrough {
            do {
                try reserve(beyond: sequence)
                return .extendedInline(nil)
            } catch {
                postponeRetry(after: sequence)
                return .extendedInline(error)
            }
        }
        return reservedThrough - sequence <= Self.blockSize / 2 ? .low : .ample
    }

    /// Extends the reservation a block beyond the last sequence appended, unless more than half a block is still
    /// left (a wake-up that an earlier extension already served). The journal's thread.
    func extendReservation() throws(JournalFileError) {
        let last = self.last
        guard reservedHint.load(ordering: .acquiring) &- last <= Self.blockSize / 2 else { return }
        do {
            try reserve(beyond: last)
        } catch {
            postponeRetry(after: last)
            throw error
        }
    }

    /// After the file could not be written: the next try comes a block later, not on every append (each try is a
    /// write, a sync and a log line). Numbers handed out meanwhile are not covered by the file, as the error said.
    private func postponeRetry(after sequence: UInt64) {
        reservedHint.store(sequence &+ Self.blockSize, ordering: .releasing)
    }

    /// Moves numbering up so that the next sequence is above `sequence` (a sink cursor found ahead of the journal);
    /// only before the first append of the run. Returns the sequence numbering resumed after before.
    func raise(above sequence: UInt64) throws(JournalFileError) -> UInt64 {
        let before = lastAppended.load(ordering: .acquiring)
        guard sequence > before else { return before }
        try reserve(beyond: sequence)
        lastAppended.store(sequence, ordering: .releasing)
        firstOfRunValue.store(sequence + 1, ordering: .releasing)
        return before
    }

    /// How many sequences of `range` were skipped when this run's numbering started (never written, so not
    /// missing events).
    func skippedCount(in range: Range<UInt64>) -> Int {
        let skipped = (recoveredLast + 1)..<max(recoveredLast + 1, firstOfRun)
        guard range.overlaps(skipped) else { return 0 }
        let overlap = range.clamped(to: skipped)
        return Int(clamping: overlap.upperBound - overlap.lowerBound)
    }

    /// Records the exact last sequence (a clean close), so that the next start leaves no gap.
    func settle() throws(JournalFileError) {
        try reserved.withLock { (reserved: inout UInt64) throws(JournalFileError) in
            let last = lastAppended.load(ordering: .acquiring)
            try write(last)
            reserved = last
            reservedHint.store(last, ordering: .releasing)
        }
    }

    private func reserve(beyond sequence: UInt64) throws(JournalFileError) {
        try reserved.withLock { (reserved: inout UInt64) throws(JournalFileError) in
            let target = sequence &+ Self.blockSize
            guard target > reserved else { return }
            try write(target)
            reserved = target
            reservedHint.store(target, ordering: .releasing)
        }
    }

    private func write(_ value: UInt64) throws(JournalFileError) {
        var words = (value.littleEndian, (~value).littleEndian)
        guard pwrite(descriptor, &words, 16, 0) == 16 else {
            throw JournalFileError(operation: "cannot write \(path)")
        }
        guard fdatasync(descriptor) == 0 else { throw JournalFileError(operation: "cannot sync \(path)") }
    }
}
