import Foundation
public import Logging

/// A write-ahead log of every published event, so that no event is lost between `publish` and the sinks: not
/// when a sink's queue overflows, not when the process is killed (kill -9, OOM, a crash), not when shutdown's
/// drain deadline passes, not while an export sink's endpoint is down. Each sink has a persisted
/// ``JournalCursor``; after a restart every sink is first given what lies past its cursor, and a sink whose
/// queue overflowed reads the missing events back from here. It is the only durable buffer: sinks keep none.
///
/// Layout: a directory with segments `journal-<first sequence>.log` (``JournalRecord``s, encoded straight into a
/// memory-mapped segment, so they survive a process crash; an OS crash can lose what the kernel had not written
/// back yet), the next segment reserved ahead (`journal-spare-<n>.log`), the cursor files, the sequence high-water
/// mark (``JournalNumbering``: no sequence is ever handed out twice) and a `lock` file held with `flock` so two
/// sensors never share a journal. A segment is deleted once every sink's cursor is past it, or,
/// oldest first, when the journal exceeds its size limit (the events it held for lagging sinks are then lost,
/// logged and counted). An append only copies memory: rotating to the next segment, closing the full one and
/// trimming happen on the journal's own thread (``JournalMaintainer``).
public final class EventJournal: Sendable {
    /// Where the journal lives and how large it may grow.
    public struct Configuration: Sendable {
        /// The journal directory (created if missing).
        public var directory: String
        /// The most bytes of segments kept; the oldest are deleted beyond it.
        public var maxBytes: Int64
        /// Segments are rotated at this size (the unit of deletion).
        public var segmentBytes: Int64

        /// A journal in `directory` of at most `maxBytes` (default 1 GiB), in segments of at most 16 MiB (or a
        /// quarter of `maxBytes` if smaller).
        public init(directory: String, maxBytes: Int64 = 1 << 30, segmentBytes: Int64? = nil) {
            self.directory = directory
            self.maxBytes = maxBytes
            self.segmentBytes = segmentBytes ?? max(4096, min(16 << 20, maxBytes / 4))
        }
    }

    /// One segment file.
    typealias Segment = JournalSegments.Segment

    /// The configuration it was opened with.
    public let configuration: Configuration
    private let lockDescriptor: Int32
    private let store: JournalSegments
    private let maintainer: JournalMaintainer
    private let numbering: JournalNumbering
    private let logger: Logger

    /// Opens the journal: creates the directory, takes its lock, recovers what a crash left (a spare that had
    /// become a segment, reserved space, a torn record) and resumes numbering above both the last sequence
    /// written and the persisted high-water mark.
    public init(configuration: Configuration, logger: Logger) throws(JournalError) {
        let directory = configuration.directory
        func fail(_ message: String) -> JournalError { JournalError(directory: directory, message: message) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw fail("cannot create the directory: \(error.localizedDescription)")
        }
        let lockDescriptor = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockDescriptor >= 0 else { throw fail("cannot open the lock file: \(String(cString: strerror(errno)))") }
        guard flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(lockDescriptor)
            throw fail("in use by another kaspa-sensor process; give each sensor its own [plugins] journal_dir")
        }
        do throws(JournalFileError) {
            let recovered = try JournalRecovery.recover(directory: directory, logger: logger)
            let numbering = try JournalNumbering(directory: directory, recoveredLast: recovered.lastSequence)
            let store = try JournalSegments(
                configuration: configuration, segments: recovered.segments, logger: logger)
            self.store = store
            self.numbering = numbering
            self.maintainer = JournalMaintainer(segments: store, numbering: numbering, logger: logger)
            Self.reportResumption(numbering, logger: logger)
        } catch {
            close(lockDescriptor)
            throw fail(error.description)
        }
        self.configuration = configuration
        self.lockDescriptor = lockDescriptor
        self.logger = logger
        maintainer.start()
    }

    deinit {
        maintainer.stop()
        // Names, cuts back and syncs the segments; deletes the unused spare.
        store.close()
        do {
            try numbering.settle()
        } catch {
            logger.warning("event journal: \(error); the next start skips the rest of the reserved sequences")
        }
        close(lockDescriptor)
    }

    private static func reportResumption(_ numbering: JournalNumbering, logger: Logger) {
        let resumed = numbering.last
        if numbering.stored == nil && numbering.recoveredLast > 0 {
            logger.warning(
                """
                event journal: no readable sequence high-water mark (\(numbering.path)); numbering continues after \
                the last journaled event, \(resumed) (sink cursors ahead of it are detected)
                """)
        } else if resumed > numbering.recoveredLast {
            logger.info(
                """
                event journal: numbering resumes after \(resumed), its high-water mark, above the last journaled \
                event \(numbering.recoveredLast) (an unclean stop, a cut journal or deleted segments): no sequence \
                is handed out twice
                """)
        }
    }

    /// The sequence of the last event appended (0 if none ever was); after a restart, where numbering resumes:
    /// never below a sequence handed out before.
    public var lastSequence: UInt64 { numbering.last }

    /// The bytes of segments on disk.
    public var totalBytes: Int64 { store.totalBytes }

    /// Appends `event` as `sequence` (which must be greater than every earlier one), encoded straight into the
    /// mapped segment. If no segment can be opened (disk full, for example) the event is still delivered from
    /// memory but would be lost by a crash: the failure is logged (at most every 10 s) and `false` returned.
    @discardableResult
    public func append(_ event: SensorEvent, sequence: UInt64) -> Bool {
        let size = JournalRecord.encodedSize(of: event)
        let result = store.append(count: size, sequence: sequence) { bytes in
            JournalRecord.write(event, sequence: sequence, into: bytes)
        }
        switch numbering.noteAppended(sequence) {
        case .ample:
            break
        case .low:
            maintainer.wakeForReservation()
        case .extendedInline(let error?):
            logger.error("event journal: \(error); sequence numbers may repeat after a power loss")
        case .extendedInline(nil):
            break
        }
        if case .appended = result {
            return true
        }
        // A rotation (or a failed one) leaves the full segment to close and the next spare to prepare.
        maintainer.wake()
        if case .failed = result {
            return false
        }
        return true
    }

    /// A sink's cursor as ``openCursorCheckingPosition(sinkName:)`` found it.
    struct OpenedCursor {
        /// The cursor.
        var cursor: JournalCursor
        /// Where numbering would have resumed, when the cursor was ahead of it (the high-water mark was lost):
        /// numbering now resumes above the cursor instead.
        var journalEndBeforeRaise: UInt64?
    }

    /// The cursor of sink `name` (see ``openCursorCheckingPosition(sinkName:)``, whose report of a cursor found
    /// ahead this drops).
    func openCursor(sinkName name: String) throws(JournalError) -> JournalCursor {
        try openCursorCheckingPosition(sinkName: name).cursor
    }

    /// The cursor of sink `name`, created at the current end of the journal if the sink has none (a new sink
    /// starts with new events; it is not sent the history).
    ///
    /// A cursor ahead of the journal's end (possible only when the high-water mark was lost along with the
    /// segments, or a cursor file was copied in) would make the sink skip new events numbered up to it. Instead
    /// the journal's numbering is raised above the cursor, so the sink gets every new event and no sequence it has
    /// seen is reused; the caller reports it (``OpenedCursor/journalEndBeforeRaise``). Call before the first
    /// append.
    func openCursorCheckingPosition(sinkName name: String) throws(JournalError) -> OpenedCursor {
        let path = configuration.directory + "/cursor-" + name
        do {
            let cursor = try JournalCursor(sinkName: name, path: path, initialPosition: lastSequence)
            let end = try numbering.raise(above: cursor.position)
            store.register(cursor)
            return OpenedCursor(cursor: cursor, journalEndBeforeRaise: cursor.position > end ? end : nil)
        } catch {
            throw JournalError(directory: configuration.directory, message: error.description)
        }
    }

    /// How many sequences of `range` this run's numbering skipped at start (after an unclean stop, or to get
    /// above a cursor): never written, so readers do not count them as missing events.
    func skippedCount(in range: Range<UInt64>) -> Int {
        numbering.skippedCount(in: range)
    }

    /// Deletes the cursor (and in-flight marker) files of sinks not in `names`: a sink that is removed and later
    /// added back starts with new events rather than a stale position.
    func removeCursors(except names: Set<String>) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: configuration.directory)) ?? []
        for prefix in ["cursor-", InFlightMarker.filePrefix] {
            for entry in entries where entry.hasPrefix(prefix) && !names.contains(String(entry.dropFirst(prefix.count)))
            {
                unlink(configuration.directory + "/" + entry)
            }
        }
    }

    /// The segments on disk, oldest first (a snapshot for readers).
    var segments: [Segment] { store.segments }

    /// Rotations so far, and how many had to open their segment on the publish path.
    var rotations: JournalSegments.Rotations { store.rotations }

    /// Whether the next segment is reserved ahead, so the next rotation only swaps memory.
    var hasSpare: Bool { store.hasSpare }

    /// Deletes the segments every registered cursor has passed (and, oldest first, any over the size limit).
    func trim() {
        store.trim()
    }

    /// The path of the segment whose first record is `first`.
    static func segmentPath(_ directory: String, first: UInt64) -> String {
        let digits = String(first)
        return directory + "/journal-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }
}
