import Foundation
public import Logging
import Synchronization

/// A write-ahead log of every published event, so that no event is lost between `publish` and the sinks: not
/// when a sink's queue overflows, not when the process is killed (kill -9, OOM, a crash), not when shutdown's
/// drain deadline passes, not while an export sink's endpoint is down. Each sink has a persisted
/// ``JournalCursor``; after a restart every sink is first given what lies past its cursor, and a sink whose
/// queue overflowed reads the missing events back from here. It is the only durable buffer: sinks keep none.
///
/// Layout: a directory with segments `journal-<first sequence>.log` (``JournalRecord``s, encoded straight into a
/// memory-mapped segment, so they survive a process crash; an OS crash can lose what the kernel had not written
/// back yet), the next segment reserved ahead (`journal-spare-<n>.log`), the cursor files and a `lock` file held with
/// `flock` so two sensors never share a journal. A segment is deleted once every sink's cursor is past it, or,
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
    private let lastAppended: Atomic<UInt64>

    /// Opens the journal: creates the directory, takes its lock, recovers what a crash left (a spare that had
    /// become a segment, reserved space, a torn record) and finds the last sequence written.
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
            let store = try JournalSegments(
                configuration: configuration, segments: recovered.segments, logger: logger)
            self.store = store
            self.maintainer = JournalMaintainer(segments: store)
            self.lastAppended = Atomic(recovered.lastSequence)
        } catch {
            close(lockDescriptor)
            throw fail(error.description)
        }
        self.configuration = configuration
        self.lockDescriptor = lockDescriptor
        maintainer.start()
    }

    deinit {
        maintainer.stop()
        // Names, cuts back and syncs the segments; deletes the unused spare.
        store.close()
        close(lockDescriptor)
    }

    /// The sequence of the last event appended (0 if none ever was).
    public var lastSequence: UInt64 { lastAppended.load(ordering: .acquiring) }

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
        lastAppended.store(sequence, ordering: .releasing)
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

    /// The cursor of sink `name`, created at the current end of the journal if the sink has none (a new sink
    /// starts with new events; it is not sent the history).
    func openCursor(sinkName name: String) throws(JournalError) -> JournalCursor {
        let path = configuration.directory + "/cursor-" + name
        do {
            let cursor = try JournalCursor(sinkName: name, path: path, initialPosition: lastSequence)
            store.register(cursor)
            return cursor
        } catch {
            throw JournalError(directory: configuration.directory, message: error.description)
        }
    }

    /// Deletes the cursor files of sinks not in `names`: a sink that is removed and later added back starts
    /// with new events rather than a stale position.
    func removeCursors(except names: Set<String>) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: configuration.directory)) ?? []
        for entry in entries where entry.hasPrefix("cursor-") && !names.contains(String(entry.dropFirst(7))) {
            unlink(configuration.directory + "/" + entry)
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
