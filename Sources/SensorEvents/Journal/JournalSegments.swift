import Foundation
import Logging
import Synchronization

/// The journal's segment files and the mutable state around them, shared by ``EventJournal`` (appends, on the
/// publish path) and its ``JournalMaintainer`` thread (everything that touches the file system after startup).
///
/// Rotation is split so that an append only ever copies memory under the lock: the next segment is reserved and
/// mapped ahead of time (the spare, `journal-spare-<n>.log`), and rotating swaps it in. The maintainer thread then
/// closes the full segment (cut back to its records and synced), gives the new one its name
/// (`journal-<first sequence>.log`), deletes segments every cursor has passed or that exceed the size limit,
/// and prepares the next spare. Only when the thread has fallen behind (no spare is ready) does an append open a
/// segment itself. A crash can leave the spare holding records under its own name; startup renames it. Every
/// spare of a run has a name of its own, so a reader whose snapshot still shows a segment under its spare's name
/// opens either that very file or, once it is renamed, nothing there (and then the segment's final name).
final class JournalSegments: Sendable {
    /// One segment file.
    struct Segment: Sendable {
        /// The sequence of its first record.
        var firstSequence: UInt64
        /// Its path.
        var path: String
        /// Its size in bytes.
        var bytes: Int64
        /// True while the file still has the spare's name (the maintainer renames it).
        var awaitsName = false
    }

    /// What ``append(count:sequence:_:)`` did.
    enum AppendResult {
        /// Written into the active segment.
        case appended
        /// Written after a rotation: the maintainer has work.
        case rotated
        /// Not written (no segment could be opened).
        case failed
    }

    private struct State {
        var active: MappedSegment?
        var spare: MappedSegment?
        /// Segments swapped out by a rotation, for the maintainer to close (never closed under the lock).
        var retired: [MappedSegment] = []
        /// Files of segments dropped from the list under the lock, for the maintainer to delete.
        var unlinked: [String] = []
        var segments: [Segment]
        var totalBytes: Int64
        var cursors: [JournalCursor] = []
        var failedAppends = 0
        var lastFailureLog: Date = .distantPast
        var rotations = Rotations()
        /// The number in the next spare's name.
        var nextSpare = 1
    }

    /// How rotations went: how many, and how many found no spare ready and opened a segment on the publish path.
    struct Rotations: Sendable, Equatable {
        /// Rotations so far.
        var total = 0
        /// Rotations that opened their segment under the lock (the journal's thread had fallen behind).
        var withoutSpare = 0
    }

    /// The journal's configuration.
    let configuration: EventJournal.Configuration
    private let state: Mutex<State>
    private let logger: Logger

    /// The path of spare number `number` in `directory`.
    static func sparePath(_ directory: String, number: Int) -> String { directory + "/journal-spare-\(number).log" }

    /// Whether the file `name` is a spare segment (of any run: startup adopts or deletes them).
    static func isSpare(_ name: String) -> Bool { name.hasPrefix("journal-spare") && name.hasSuffix(".log") }

    /// The state of a journal whose segments on disk are `segments` (recovered, oldest first; the last one is
    /// appended to and holds `tailBytes` of records).
    init(configuration: EventJournal.Configuration, segments: [Segment], logger: Logger) throws(JournalFileError) {
        let tail = segments[segments.count - 1]
        let active = try MappedSegment(
            path: tail.path, length: tail.bytes, capacity: max(configuration.segmentBytes, tail.bytes))
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(
            State(active: active, segments: segments, totalBytes: segments.reduce(0) { $0 + $1.bytes }))
    }

    /// The bytes of segments on disk (the spare not counted).
    var totalBytes: Int64 { state.withLock { $0.totalBytes } }

    /// The segments, oldest first (a snapshot for readers).
    var segments: [Segment] { state.withLock { $0.segments } }

    /// Rotations so far (for tests and diagnostics).
    var rotations: Rotations { state.withLock { $0.rotations } }

    /// Whether the next segment is reserved and mapped, ready to be swapped in.
    var hasSpare: Bool { state.withLock { $0.spare != nil } }

    /// Registers a sink's cursor; trimming keeps what it has not passed.
    func register(_ cursor: JournalCursor) {
        state.withLock { $0.cursors.append(cursor) }
    }

    /// Lets `encode` write a `count`-byte record for `sequence` into the active segment, swapping in the spare
    /// when it is full: memory only, unless no spare is ready. Called under the journal's append order.
    func append(
        count: Int, sequence: UInt64, _ encode: @Sendable (UnsafeMutableRawBufferPointer) -> Void
    ) -> AppendResult {
        state.withLock { state in
            var result = AppendResult.appended
            var appended = state.active?.append(count: count, encode) ?? false
            if !appended {
                result = .rotated
                state.rotations.total += 1
                if let spare = state.spare, Int64(count) <= spare.capacity {
                    state.spare = nil
                    swapIn(spare, &state, firstSequence: sequence, awaitsName: true)
                } else {
                    state.rotations.withoutSpare += 1
                    openSynchronously(&state, firstSequence: sequence, atLeast: Int64(count))
                }
                appended = state.active?.append(count: count, encode) ?? false
            }
            guard appended else {
                reportFailure(&state)
                return .failed
            }
            state.segments[state.segments.count - 1].bytes += Int64(count)
            state.totalBytes += Int64(count)
            return result
        }
    }

    /// Makes `segment` the active one, its records starting at `firstSequence`; the old one is retired.
    private func swapIn(_ segment: MappedSegment, _ state: inout State, firstSequence: UInt64, awaitsName: Bool) {
        if let old = state.active {
            state.retired.append(old)
        }
        state.active = segment
        if let last = state.segments.last, last.bytes == 0, !last.awaitsName {
            // The previous segment never got a record (its first record did not fit): replace it.
            state.segments.removeLast()
            state.unlinked.append(last.path)
        }
        state.segments.append(
            Segment(firstSequence: firstSequence, path: segment.path, bytes: 0, awaitsName: awaitsName))
    }

    /// The fallback when no spare is ready: opens the next segment here, under the lock. On failure there is no
    /// active segment until a later append succeeds.
    private func openSynchronously(_ state: inout State, firstSequence: UInt64, atLeast: Int64) {
        let path = EventJournal.segmentPath(configuration.directory, first: firstSequence)
        do {
            let segment = try MappedSegment(
                path: path, length: 0, capacity: max(configuration.segmentBytes, atLeast))
            swapIn(segment, &state, firstSequence: firstSequence, awaitsName: false)
        } catch {
            if let old = state.active {
                state.retired.append(old)
            }
            state.active = nil
            logger.error("event journal: \(error)")
        }
    }

    // MARK: - Maintenance (the journal's own thread, or startup and shutdown)

    /// After a rotation (`rotated`): closes retired segments, names the segment that took over the spare and
    /// trims; then (with `prepareSpare`) reserves the next spare: every file operation rotation needs, none of
    /// them under the lock. Without a rotation (at startup) nothing is trimmed: the sinks' cursors are not
    /// registered yet, and trimming would delete what they have not received.
    func maintain(rotated: Bool, prepareSpare: Bool) {
        closeRetired()
        let (unlinked, unnamed) = state.withLock { state in
            defer { state.unlinked = [] }
            return (state.unlinked, state.segments.filter(\.awaitsName))
        }
        for path in unlinked {
            unlink(path)
        }
        for segment in unnamed {
            let path = EventJournal.segmentPath(configuration.directory, first: segment.firstSequence)
            guard rename(segment.path, path) == 0 else {
                logger.error("event journal: \(JournalFileError(operation: "cannot rename \(segment.path)"))")
                continue
            }
            state.withLock { state in
                if let index = state.segments.firstIndex(where: { $0.firstSequence == segment.firstSequence }) {
                    state.segments[index].path = path
                    state.segments[index].awaitsName = false
                }
            }
        }
        if rotated {
            trim()
        }
        if prepareSpare {
            reserveSpare()
        }
    }

    /// Closes the segments rotations swapped out: each is cut back to its records and synced (MappedSegment's
    /// deinit) when the array taken out of the state is released, on return.
    private func closeRetired() {
        let retired = state.withLock { state in
            defer { state.retired = [] }
            return state.retired
        }
        if !retired.isEmpty {
            logger.trace("event journal: closing \(retired.count) full segments")
        }
    }

    /// Reserves and maps the next spare, unless one is ready or a segment still has the spare's name.
    private func reserveSpare() {
        let number = state.withLock { state -> Int? in
            guard state.spare == nil && !state.segments.contains(where: \.awaitsName) else { return nil }
            defer { state.nextSpare += 1 }
            return state.nextSpare
        }
        guard let number else { return }
        let path = Self.sparePath(configuration.directory, number: number)
        do {
            let spare = try MappedSegment(path: path, length: 0, capacity: configuration.segmentBytes)
            state.withLock { $0.spare = spare }
        } catch {
            // The next rotation opens its segment itself (and reports a full disk then).
            logger.warning("event journal: cannot prepare the next segment ahead: \(error)")
            unlink(path)
        }
    }

    /// Deletes the segments every registered cursor has passed, then, oldest first, those over the size limit.
    func trim() {
        let (victims, overLimit) = state.withLock { state -> ([Segment], [String]) in
            var victims: [Segment] = []
            var overLimit: [String] = []
            let consumed = state.cursors.map(\.position).min() ?? (state.segments.last?.firstSequence ?? 1) - 1
            // Segment i holds sequences below segment i+1's first; it is consumed when all of them are <= consumed.
            while state.segments.count > 1 && !state.segments[0].awaitsName
                && state.segments[1].firstSequence <= consumed + 1
            {
                victims.append(removeOldest(&state))
            }
            while state.segments.count > 1 && !state.segments[0].awaitsName
                && state.totalBytes > configuration.maxBytes
            {
                let end = state.segments[1].firstSequence
                let lagging = state.cursors.filter { $0.position < end - 1 }.map(\.sinkName)
                overLimit.append(
                    "deleted events \(state.segments[0].firstSequence)..<\(end) that lagging sinks "
                        + "(\(lagging.joined(separator: ","))) had not received")
                victims.append(removeOldest(&state))
            }
            return (victims, overLimit)
        }
        for victim in victims {
            unlink(victim.path)
        }
        for message in overLimit {
            logger.error(
                """
                event journal over its limit of \(configuration.maxBytes) bytes: \(message) (raise [plugins] \
                journal_max_mb or fix the sink)
                """)
        }
    }

    private func removeOldest(_ state: inout State) -> Segment {
        let oldest = state.segments.removeFirst()
        state.totalBytes -= oldest.bytes
        return oldest
    }

    /// Closes everything at shutdown (after the maintainer has stopped): names and closes the segments and
    /// deletes an unused spare.
    func close() {
        maintain(rotated: false, prepareSpare: false)
        let spare = state.withLock { state -> MappedSegment? in
            state.active = nil
            defer { state.spare = nil }
            return state.spare
        }
        if let spare {
            let path = spare.path
            _ = consume spare
            unlink(path)
        }
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
}
