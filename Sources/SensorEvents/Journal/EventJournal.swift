import Foundation
public import Logging
import Synchronization

/// A write-ahead log of every published event, so that no event is lost between `publish` and the sinks: not
/// when a sink's queue overflows, not when the process is killed (kill -9, OOM, a crash), not when shutdown's
/// drain deadline passes. Each sink has a persisted ``JournalCursor``; after a restart every sink is first given
/// what lies past its cursor, and a sink whose queue overflowed reads the missing events back from here.
///
/// Layout: a directory with segments `journal-<first sequence>.log` (``JournalRecord``s, encoded straight into a
/// memory-mapped segment, so they survive a process crash; an OS crash can lose what the kernel had not written
/// back yet), the cursor files and a `lock` file held with `flock` so two sensors never share a journal. A segment
/// is deleted once every sink's cursor is past it, or, oldest first, when the journal exceeds its size limit (the
/// events it held for lagging sinks are then lost, logged and counted).
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
    struct Segment: Sendable {
        /// The sequence of its first record.
        var firstSequence: UInt64
        /// Its path.
        var path: String
        /// Its size in bytes.
        var bytes: Int64
    }

    private struct State {
        var active: MappedSegment?
        var segments: [Segment]
        var totalBytes: Int64
        var cursors: [JournalCursor] = []
        var failedAppends = 0
        var lastFailureLog: Date = .distantPast
    }

    /// The configuration it was opened with.
    public let configuration: Configuration
    private let lockDescriptor: Int32
    private let state: Mutex<State>
    private let lastAppended: Atomic<UInt64>
    private let logger: Logger

    /// Opens the journal: creates the directory, takes its lock, cuts a torn record off the last segment and
    /// finds the last sequence written.
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
            var segments = try Self.listSegments(in: directory)
            var last: UInt64 = 0
            if let tail = segments.last {
                let recovered = try JournalScanner.recoverTail(of: tail)
                segments[segments.count - 1].bytes = recovered.validBytes
                last = recovered.lastSequence ?? tail.firstSequence - 1
                if recovered.torn {
                    logger.warning(
                        "event journal: cut a record torn by a crash off \(tail.path) (\(recovered.cutBytes) bytes)")
                } else if recovered.cutBytes > 0 {
                    logger.info(
                        "event journal: released \(recovered.cutBytes) bytes of reserved space a crash left in \(tail.path)"
                    )
                }
            } else {
                segments = [Segment(firstSequence: 1, path: Self.segmentPath(directory, first: 1), bytes: 0)]
            }
            let tail = segments[segments.count - 1]
            let active = try MappedSegment(
                path: tail.path, length: tail.bytes, capacity: Self.capacity(for: configuration, atLeast: 0))
            self.state = Mutex(
                State(active: active, segments: segments, totalBytes: segments.reduce(0) { $0 + $1.bytes }))
            self.lastAppended = Atomic(last)
        } catch {
            close(lockDescriptor)
            throw fail(error.description)
        }
        self.configuration = configuration
        self.lockDescriptor = lockDescriptor
        self.logger = logger
    }

    deinit {
        // Cuts the active segment back to its records and syncs it.
        state.withLock { $0.active = nil }
        close(lockDescriptor)
    }

    /// The sequence of the last event appended (0 if none ever was).
    public var lastSequence: UInt64 { lastAppended.load(ordering: .acquiring) }

    /// The bytes of segments on disk.
    public var totalBytes: Int64 { state.withLock { $0.totalBytes } }

    /// Appends `event` as `sequence` (which must be greater than every earlier one), encoded straight into the
    /// mapped segment. If no segment can be opened (disk full, for example) the event is still delivered from
    /// memory but would be lost by a crash: the failure is logged (at most every 10 s) and `false` returned.
    @discardableResult
    public func append(_ event: SensorEvent, sequence: UInt64) -> Bool {
        let size = JournalRecord.encodedSize(of: event)
        let written = state.withLock { state -> Bool in
            let encode = { (bytes: UnsafeMutableRawBufferPointer) in
                JournalRecord.write(event, sequence: sequence, into: bytes)
            }
            var appended = state.active?.append(count: size, encode) ?? false
            if !appended {
                rotate(&state, nextSequence: sequence, atLeast: Int64(size))
                appended = state.active?.append(count: size, encode) ?? false
            }
            guard appended else {
                reportFailure(&state)
                return false
            }
            state.segments[state.segments.count - 1].bytes += Int64(size)
            state.totalBytes += Int64(size)
            return true
        }
        lastAppended.store(sequence, ordering: .releasing)
        return written
    }

    /// The cursor of sink `name`, created at the current end of the journal if the sink has none (a new sink
    /// starts with new events; it is not sent the history).
    func openCursor(sinkName name: String) throws(JournalError) -> JournalCursor {
        let path = configuration.directory + "/cursor-" + name
        do {
            let cursor = try JournalCursor(sinkName: name, path: path, initialPosition: lastSequence)
            state.withLock { $0.cursors.append(cursor) }
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
    var segments: [Segment] { state.withLock { $0.segments } }

    /// Deletes the segments every registered cursor has passed.
    func trim() {
        state.withLock { trimConsumed(&$0) }
    }

    // MARK: - Under the lock

    /// Closes the active segment (cut back to its records) and opens the next, starting at `nextSequence`, with
    /// room for at least `atLeast` bytes. On failure there is no active segment until a later append succeeds.
    private func rotate(_ state: inout State, nextSequence: UInt64, atLeast: Int64) {
        state.active = nil
        let path = Self.segmentPath(configuration.directory, first: nextSequence)
        do {
            state.active = try MappedSegment(
                path: path, length: 0, capacity: Self.capacity(for: configuration, atLeast: atLeast))
        } catch {
            logger.error("event journal: \(error)")
            return
        }
        if state.segments.last?.bytes == 0 {
            // The previous segment never got a record (its first record did not fit): replace it.
            let empty = state.segments.removeLast()
            if empty.path != path { unlink(empty.path) }
        }
        state.segments.append(Segment(firstSequence: nextSequence, path: path, bytes: 0))
        trimConsumed(&state)
        trimOverLimit(&state)
    }

    private static func capacity(for configuration: Configuration, atLeast bytes: Int64) -> Int64 {
        max(configuration.segmentBytes, bytes)
    }

    private func trimConsumed(_ state: inout State) {
        let consumed = state.cursors.map(\.position).min() ?? lastSequence
        // Segment i holds sequences below segment i+1's first; it is consumed when all of them are <= consumed.
        while state.segments.count > 1 && state.segments[1].firstSequence <= consumed + 1 {
            deleteOldest(&state)
        }
    }

    private func trimOverLimit(_ state: inout State) {
        while state.segments.count > 1 && state.totalBytes > configuration.maxBytes {
            let oldest = state.segments[0]
            let lagging = state.cursors.filter { $0.position < state.segments[1].firstSequence - 1 }
            logger.error(
                """
                event journal over its limit of \(configuration.maxBytes) bytes: deleted events \
                \(oldest.firstSequence)..<\(state.segments[1].firstSequence) that lagging sinks had not received \
                (raise [plugins] journal_max_mb or fix the sink)
                """,
                metadata: ["lagging_sinks": "\(lagging.map(\.sinkName).joined(separator: ","))"]
            )
            deleteOldest(&state)
        }
    }

    private func deleteOldest(_ state: inout State) {
        let oldest = state.segments.removeFirst()
        unlink(oldest.path)
        state.totalBytes -= oldest.bytes
    }

    private func reportFailure(_ state: inout State) {
        let code = errno
        state.failedAppends += 1
        guard Date().timeIntervalSince(state.lastFailureLog) >= 10 else { return }
        logger.error(
            """
            event journal \(configuration.directory): cannot write (\(String(cString: strerror(code)))); \
            \(state.failedAppends) events are delivered from memory only and would be lost by a crash
            """)
        state.lastFailureLog = Date()
        state.failedAppends = 0
    }

    // MARK: - Files

    static func segmentPath(_ directory: String, first: UInt64) -> String {
        let digits = String(first)
        return directory + "/journal-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    private static func listSegments(in directory: String) throws(JournalFileError) -> [Segment] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw JournalFileError(operation: "cannot list the directory")
        }
        return entries.compactMap { entry -> Segment? in
            guard entry.hasPrefix("journal-"), entry.hasSuffix(".log"),
                let first = UInt64(entry.dropFirst(8).dropLast(4)), first > 0
            else { return nil }
            let path = directory + "/" + entry
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return Segment(firstSequence: first, path: path, bytes: Int64(info.st_size))
        }.sorted { $0.firstSequence < $1.firstSequence }
    }
}
