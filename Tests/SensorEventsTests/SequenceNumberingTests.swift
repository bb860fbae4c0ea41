import Foundation
import TestSupport
import Testing

@testable import SensorEvents

@Suite("Sequence numbers never repeat: the journal's high-water mark, and sink cursors ahead of the journal")
struct SequenceNumberingTests {
    typealias Harness = SinkDispatcherTests.Harness

    private func open(_ directory: URL, _ harness: Harness) throws -> EventJournal {
        try EventJournal(configuration: .init(directory: directory.path), logger: harness.logs.logger)
    }

    /// The value in the journal's `sequence-reserved` file, if it holds a valid one.
    private func storedMark(in directory: URL) throws -> UInt64? {
        let data = try Data(contentsOf: directory.appendingPathComponent(JournalNumbering.fileName))
        guard data.count == 16 else { return nil }
        let words = data.withUnsafeBytes {
            ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
        return words.0 == ~words.1 ? UInt64(littleEndian: words.0) : nil
    }

    /// Deletes the journal's segments (and, with `mark`, its high-water mark), as an operator might.
    private func deleteSegments(in directory: URL, mark: Bool = false) throws {
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where file.hasPrefix("journal-") || (mark && file == JournalNumbering.fileName) {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(file))
        }
    }

    private func pluginGauge(_ harness: Harness, _ name: String, _ sink: String) -> Double? {
        try? harness.metrics.expectGauge(SinkMetricNames.pluginGauge, [("sink", sink), ("name", name)]).lastValue
    }

    /// Runs `sink` over a journal in `directory` for `count` events and stops cleanly.
    private func runOnce(_ directory: URL, events count: Int) async throws -> Harness {
        let harness = try Harness()
        try await harness.run([harness.sink("main", mode: "ok")], events: count, journal: try open(directory, harness))
        return harness
    }

    @Test("The mark is reserved a block ahead by the journal's thread, not per event; a clean close records the end")
    func reservesInBlocks() async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let harness = try Harness()
        do {
            let journal = try open(directory, harness)
            #expect(try storedMark(in: directory) == JournalNumbering.blockSize)
            let count = Int(JournalNumbering.blockSize) / 2 + 100
            for index in 1...count {
                journal.append(TestEvents.numbered(index), sequence: UInt64(index))
            }
            #expect(try await eventually { try storedMark(in: directory) ?? 0 > JournalNumbering.blockSize })
            #expect(try storedMark(in: directory) ?? 0 >= UInt64(count) + JournalNumbering.blockSize / 2)
        }
        #expect(try storedMark(in: directory) == JournalNumbering.blockSize / 2 + 100)
        let reopened = try open(directory, harness)
        #expect(reopened.lastSequence == JournalNumbering.blockSize / 2 + 100)
    }

    @Test("After every segment is deleted, numbering continues above the old maximum and the sink gets the new events")
    func continuesAfterDeletedSegments() async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let first = try await runOnce(directory, events: 300)
        #expect(pluginGauge(first, "last_sequence", "main") == 300)
        try deleteSegments(in: directory)

        let second = try await runOnce(directory, events: 10)
        #expect(second.pluginCounter("events", "main") == 10)
        #expect(pluginGauge(second, "first_sequence", "main") == 301)
        #expect(pluginGauge(second, "last_sequence", "main") == 310)
        #expect(second.counter(SinkMetricNames.dropped, "main") == 0)
        #expect(second.counter(SinkMetricNames.cursorAhead, "main") == 0)
    }

    @Test("After an unclean stop numbering resumes above the reserved block; a lagging sink loses nothing to the gap")
    func uncleanStopSkipsTheReservation() async throws {
        let live = try TestEnvironment.makeTemporaryDirectory()
        let crashed = try TestEnvironment.makeTemporaryDirectory()
        let harness = try Harness()
        do {
            let journal = try open(live, harness)
            for index in 1...50 {
                journal.append(TestEvents.numbered(index), sequence: UInt64(index))
            }
            // What kill -9 leaves: the files as they are while the journal is open (mapped segment, reservation).
            for file in try FileManager.default.contentsOfDirectory(atPath: live.path) where file != "lock" {
                try FileManager.default.copyItem(
                    at: live.appendingPathComponent(file), to: crashed.appendingPathComponent(file))
            }
        }
        // A sink that had finished 20 of the 50.
        var position = UInt64(20).littleEndian
        try Data(bytes: &position, count: 8).write(to: crashed.appendingPathComponent("cursor-main"))

        let resumed = try Harness()
        let journal = try open(crashed, resumed)
        // The first block was reserved when the journal opened; 50 were used.
        let end = JournalNumbering.blockSize
        #expect(journal.lastSequence == end)
        #expect(!resumed.logs.records(containing: "numbering resumes after \(end)").isEmpty)
        try await resumed.run([resumed.sink("main", mode: "ok")], events: 5, journal: journal)
        #expect(resumed.pluginCounter("events", "main") == 35)
        #expect(resumed.pluginCounter("out_of_order", "main") == 0)
        #expect(pluginGauge(resumed, "first_sequence", "main") == 21)
        #expect(pluginGauge(resumed, "last_sequence", "main") == Double(end + 5))
        #expect(resumed.counter(SinkMetricNames.dropped, "main") == 0)
        #expect(resumed.logs.records(containing: "no longer in the journal").isEmpty)
    }

    @Test(
        """
        A cursor ahead of the journal (segments and mark deleted) is reported with the sink's name and counted; \
        numbering moves above it, so that sink and a new one get every new event
        """)
    func cursorAheadIsReported() async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        _ = try await runOnce(directory, events: 300)
        try deleteSegments(in: directory, mark: true)

        let second = try Harness()
        let journal = try open(directory, second)
        #expect(journal.lastSequence == 0)
        // "late" is new: its cursor starts at the journal's end before "main" raises it.
        try await second.run(
            [second.sink("late", mode: "ok"), second.sink("main", mode: "ok")], events: 10, journal: journal)
        #expect(second.counter(SinkMetricNames.cursorAhead, "main") == 1)
        #expect(second.counter(SinkMetricNames.cursorAhead, "late") == 0)
        #expect(!second.logs.records(containing: "is ahead of the journal's end", sink: "main").isEmpty)
        for sink in ["main", "late"] {
            #expect(second.pluginCounter("events", sink) == 10)
            #expect(pluginGauge(second, "first_sequence", sink) == 301)
            #expect(second.counter(SinkMetricNames.dropped, sink) == 0)
        }
    }
}
