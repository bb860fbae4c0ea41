/// Reads events back from the journal for one sink's worker thread: after a restart (everything past the sink's
/// cursor) and after its queue overflowed (the events it missed).
///
/// Keeps its place between reads, so a sink catching up reads each segment once. Confined to one thread.
final class JournalReader {
    /// What one ``read(from:before:maxEvents:)`` found.
    struct Chunk {
        /// The events, in sequence order.
        var events: [QueuedEvent]
        /// The first sequence not covered by this read: read on from here.
        var next: UInt64
        /// Sequences in the range covered that the journal no longer (or never) had: deleted over the size limit,
        /// a failed write, or a corrupt record (not those numbering skipped at startup, which were never used).
        var missing: Int
    }

    private let journal: EventJournal
    private var current: JournalScanner?
    private var currentSegment: UInt64 = 0
    /// The next sequence `current` would return (its records before this are consumed).
    private var currentNext: UInt64 = 0

    /// A reader of `journal`.
    init(journal: EventJournal) {
        self.journal = journal
    }

    /// Reads the journaled events with `from <= sequence < before`, at most `maxEvents` of them.
    func read(from: UInt64, before: UInt64, maxEvents: Int) -> Chunk {
        var events: [QueuedEvent] = []
        var position = from
        let segments = journal.segments
        var index = segments.lastIndex { $0.firstSequence <= position } ?? 0
        while position < before && events.count < maxEvents && index < segments.count {
            let segment = segments[index]
            let segmentEnd = index + 1 < segments.count ? segments[index + 1].firstSequence : before
            position = max(position, segment.firstSequence)
            guard let scanner = scanner(on: segment, at: position) else {
                position = min(segmentEnd, before)
                index += 1
                continue
            }
            while events.count < maxEvents, let record = scanner.next() {
                currentNext = record.sequence + 1
                guard record.sequence >= position else { continue }
                guard record.sequence < before else {
                    currentNext = record.sequence
                    scanner.offset = record.offset
                    break
                }
                if let event = scanner.payload.withUnsafeBytes({ JournalRecord.decode(payload: $0) }) {
                    events.append(event)
                }
                position = record.sequence + 1
            }
            if events.count >= maxEvents || position >= before { break }
            // The segment ended (or is corrupt from here): what it did not have is missing.
            position = min(segmentEnd, before)
            index += 1
        }
        let next = events.count >= maxEvents ? events[events.count - 1].sequence + 1 : before
        // Numbers skipped when this run's numbering started were never events.
        let covered = Int(clamping: next - from) - journal.skippedCount(in: from..<next)
        return Chunk(events: events, next: next, missing: max(0, covered - events.count))
    }

    /// Positions the scanner on `segment` so that its next record is at or after `sequence`, reusing the open
    /// scanner when it is already there or before; `nil` if the segment cannot be opened (deleted meanwhile).
    /// A segment the journal's thread renamed since the snapshot (from its spare's name) is opened by its final
    /// name: spare names are never reused within a run, so the old name opens that segment or nothing.
    private func scanner(on segment: EventJournal.Segment, at sequence: UInt64) -> JournalScanner? {
        if let current, currentSegment == segment.firstSequence && currentNext <= sequence {
            return current
        }
        current = try? JournalScanner(path: segment.path)
        if current == nil, segment.awaitsName {
            let directory = journal.configuration.directory
            current = try? JournalScanner(path: EventJournal.segmentPath(directory, first: segment.firstSequence))
        }
        currentSegment = segment.firstSequence
        currentNext = segment.firstSequence
        return current
    }
}
