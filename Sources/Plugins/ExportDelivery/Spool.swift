import Foundation

/// The durable, ordered queue between `write_batch` and the delivery thread: segment files of JSON lines in one
/// folder (`segment-<number>.jsonl`), plus a cursor file (`cursor`) naming the first undelivered byte.
///
/// Writers (the host's thread) append to the last segment and sync before returning; the delivery thread reads
/// from the cursor, advances it after a delivery and deletes segments it has passed. A segment is only deleted
/// once a later one exists, so the writer's segment is never deleted under it. Counters and the segment list
/// live behind `condition`, which also wakes the delivery thread (new events, stop) and `flush()` (drained).
final class Spool: @unchecked Sendable {
    /// A byte position in the spool.
    struct Position: Equatable {
        /// The segment number.
        var segment: UInt64
        /// The byte offset inside the segment.
        var offset: UInt64
    }

    /// What ``append(_:events:)`` did.
    enum AppendResult {
        /// The events are durable.
        case appended
        /// They would take the spool past its limit.
        case full
        /// Writing or syncing failed; the segment was cut back to its previous length.
        case failed(FileIO.Failure)
    }

    /// The spool folder.
    let directory: String
    /// The most undelivered bytes the spool may hold.
    let maxBytes: UInt64
    /// A new segment is started once the current one holds this many bytes.
    let segmentBytes: UInt64
    /// Guards everything below and signals changes to it.
    let condition = NSCondition()

    // Guarded by `condition`.
    /// Segment numbers and their durable lengths, in order; the last one is the writer's.
    private(set) var segments: [(number: UInt64, length: UInt64)] = []
    /// Bytes in the segment files.
    private(set) var diskBytes: UInt64 = 0
    /// Events after the cursor.
    private(set) var pendingEvents = 0
    /// The first undelivered byte.
    private(set) var cursor: Position
    /// Set when the delivery thread should stop.
    var isStopping = false
    /// How many `flush()` calls are waiting for the spool to drain (partial batches then go out at once).
    var flushWaiters = 0

    // Writer thread only.
    private var writeFD: Int32 = -1
    /// The open `lock` file, locked (`flock`) for as long as this spool is open.
    private let lockFD: Int32

    /// Opens (or creates) the spool in `directory`: resumes from the cursor, cuts torn lines off the ends of
    /// existing segments (they were never acknowledged), counts the pending events and starts a new segment.
    init(directory: String, maxBytes: Int) throws(FileIO.Failure) {
        self.directory = directory
        self.maxBytes = UInt64(maxBytes)
        self.segmentBytes = min(max(UInt64(maxBytes) / 16, 64 << 10), 16 << 20)
        try FileIO.makeDirectory(directory)
        // Two instances on one spool would interleave and delete each other's segments.
        lockFD = try FileIO.open(directory + "/lock", O_RDWR | O_CREAT)
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(lockFD)
            throw FileIO.Failure(
                operation: "lock \(directory)/lock (is another sink using this spool_dir?)", code: code)
        }
        let numbers = Self.segmentNumbers(in: directory)
        let saved = SpoolCursor.load(directory: directory)
        cursor = Position(segment: numbers.first ?? 1, offset: 0)
        if let saved, numbers.contains(saved.segment) {
            cursor = saved
        } else if let saved, let next = numbers.first(where: { $0 > saved.segment }) {
            cursor = Position(segment: next, offset: 0)
        }
        for number in numbers {
            let path = segmentPath(number)
            if number < cursor.segment {
                unlink(path)
                continue
            }
            let scan = try SegmentScan(path: path, from: number == cursor.segment ? cursor.offset : 0)
            segments.append((number, scan.length))
            diskBytes += scan.length
            pendingEvents += scan.lines
        }
        if cursor.offset > segments.first?.length ?? 0 {
            cursor.offset = segments.first?.length ?? 0
        }
        try startSegment((segments.last?.number ?? 0) + 1)
    }

    deinit {
        if writeFD >= 0 {
            close(writeFD)
        }
        close(lockFD)
    }

    /// The path of segment `number`.
    func segmentPath(_ number: UInt64) -> String {
        directory + "/segment-" + String(number).leftPadded(to: 20) + ".jsonl"
    }

    /// Appends `bytes` (complete JSON lines, `events` of them) to the writer's segment and syncs it.
    func append(_ bytes: [UInt8], events: Int) -> AppendResult {
        condition.lock()
        // An empty spool takes any batch, so one larger than the limit cannot be refused forever.
        let fits = pendingBytes == 0 || pendingBytes + UInt64(bytes.count) <= maxBytes
        var current = segments[segments.count - 1]
        condition.unlock()
        guard fits else { return .full }
        do throws(FileIO.Failure) {
            if current.length >= segmentBytes {
                try startSegment(current.number + 1)
                current = (current.number + 1, 0)
            }
            let path = segmentPath(current.number)
            do throws(FileIO.Failure) {
                try FileIO.writeAll(writeFD, bytes, path: path)
                try FileIO.syncData(writeFD, path: path)
            } catch {
                // Leave no half batch behind: the host redelivers the whole batch after a RETRY.
                _ = ftruncate(writeFD, off_t(current.length))
                throw error
            }
        } catch {
            return .failed(error)
        }
        condition.lock()
        segments[segments.count - 1].length += UInt64(bytes.count)
        diskBytes += UInt64(bytes.count)
        pendingEvents += events
        condition.broadcast()
        condition.unlock()
        return .appended
    }

    /// Moves the cursor to `end` after `events` were delivered (or dead-lettered), persists it, and deletes the
    /// segments now behind it. Called by the delivery thread only.
    func advance(to end: Position, events: Int) throws(FileIO.Failure) {
        try SpoolCursor.save(end, directory: directory)
        condition.lock()
        cursor = end
        pendingEvents -= events
        let finished = dropFinishedSegments()
        condition.broadcast()
        condition.unlock()
        removeSegments(finished)
    }

    /// Where the cursor is and how many durable bytes follow it in its segment (moving past finished segments).
    func readableRange() -> (start: Position, length: UInt64) {
        condition.lock()
        let finished = dropFinishedSegments()
        let length = segments.first { $0.number == cursor.segment }?.length ?? 0
        let range = (cursor, length > cursor.offset ? length - cursor.offset : 0)
        condition.unlock()
        removeSegments(finished)
        return range
    }

    /// Drops fully read segments that are not the writer's from the list; call with the lock held.
    private func dropFinishedSegments() -> [UInt64] {
        var finished: [UInt64] = []
        while segments.count > 1, segments[0].number == cursor.segment, cursor.offset >= segments[0].length {
            finished.append(segments[0].number)
            diskBytes -= segments[0].length
            segments.removeFirst()
            cursor = Position(segment: segments[0].number, offset: 0)
        }
        return finished
    }

    private func removeSegments(_ numbers: [UInt64]) {
        for number in numbers {
            unlink(segmentPath(number))
        }
    }

    /// Events waiting for delivery and their bytes, under the lock.
    func counts() -> (events: Int, bytes: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        return (pendingEvents, pendingBytes)
    }

    /// Bytes after the cursor: what `maxBytes` bounds. The files also hold the delivered start of the cursor's
    /// segment until the writer moves to a new segment (at most ``segmentBytes`` more); call with the lock held.
    private var pendingBytes: UInt64 { diskBytes - min(cursor.offset, diskBytes) }

    private func startSegment(_ number: UInt64) throws(FileIO.Failure) {
        let fd = try FileIO.open(segmentPath(number), O_WRONLY | O_CREAT | O_APPEND)
        do throws(FileIO.Failure) {
            try FileIO.syncDirectory(directory)
        } catch {
            close(fd)
            throw error
        }
        if writeFD >= 0 {
            close(writeFD)
        }
        writeFD = fd
        condition.lock()
        segments.append((number, 0))
        condition.unlock()
    }

    private static func segmentNumbers(in directory: String) -> [UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> UInt64? in
            guard name.hasPrefix("segment-"), name.hasSuffix(".jsonl") else { return nil }
            return UInt64(name.dropFirst(8).dropLast(6))
        }.sorted()
    }
}

extension String {
    /// The string with leading zeros up to `width` characters.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
