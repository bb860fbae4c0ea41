import Foundation
import Logging
import TestSupport
import Testing

@testable import SensorEvents

@Suite("Event journal: records, recovery, cursors and trimming")
struct EventJournalTests {
    private let logs = LogCapture()

    private func open(_ directory: URL, maxBytes: Int64 = 1 << 30, segmentBytes: Int64? = nil) throws -> EventJournal {
        try EventJournal(
            configuration: .init(directory: directory.path, maxBytes: maxBytes, segmentBytes: segmentBytes),
            logger: logs.logger)
    }

    @Test("Every event reads back exactly as appended, field types, envelope and sequence included")
    func roundTrip() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let journal = try open(directory)
        let events = (1...300).map { TestEvents.numbered($0) }
        for (index, event) in events.enumerated() {
            #expect(journal.append(event, sequence: UInt64(index + 1)))
        }
        var unusual = TestEvents.numbered(0)
        unusual.fields.append(EventField("text", .text("ünïcode \"quoted\"\n\u{0}")))
        unusual.fields.append(EventField("negative", .int(.min)))
        unusual.fields.append(EventField("nan", .float(.infinity)))
        journal.append(unusual, sequence: 301)
        #expect(journal.lastSequence == 301)

        let reader = JournalReader(journal: journal)
        let first = reader.read(from: 1, before: 302, maxEvents: 200)
        #expect(first.events.map(\.event) == Array(events.prefix(200)))
        #expect(first.events.map(\.sequence) == Array(1...200))
        #expect(first.next == 201 && first.missing == 0)
        let rest = reader.read(from: first.next, before: 302, maxEvents: 200)
        #expect(rest.events.map(\.event) == Array(events.suffix(100)) + [unusual])
        #expect(rest.next == 302 && rest.missing == 0)
        // A range in the middle, read after the reader has moved past it.
        let middle = reader.read(from: 50, before: 53, maxEvents: 10)
        #expect(middle.events.map(\.sequence) == [50, 51, 52])
    }

    /// Journals `events` numbered events in `directory`, closes the journal, appends `tail` to its segment as a
    /// crash would leave it, and returns the segment's path and its size before `tail`.
    private func closedSegment(in directory: URL, events: Int, thenAppend tail: Data) throws -> (String, Int) {
        var segment = ""
        do {
            let journal = try open(directory)
            for index in 1...events {
                journal.append(TestEvents.numbered(index), sequence: UInt64(index))
            }
            segment = try #require(journal.segments.last?.path)
        }
        let whole = try #require(FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int)
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        handle.seekToEndOfFile()
        handle.write(tail)
        handle.closeFile()
        return (segment, whole)
    }

    @Test("Reserved space a crash leaves after the last record is released without a torn-record warning")
    func reservedSpaceIsReleased() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        // What kill -9 leaves: the segment's reserved blocks, never written, still in the file.
        let (segment, whole) = try closedSegment(in: directory, events: 5, thenAppend: Data(count: 65536))

        let journal = try open(directory)
        #expect(journal.lastSequence == 5)
        #expect(!logs.records(containing: "released 65536 bytes of reserved space").isEmpty)
        #expect(logs.records(containing: "torn").isEmpty)
        _ = consume journal
        #expect(try FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int == whole)
    }

    @Test("A record torn by a crash is cut off at the next start; the sequence goes on from the last whole one")
    func tornTailIsCut() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let (segment, whole) = try closedSegment(
            in: directory, events: 10,
            thenAppend: Data([0x40, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x0B, 0x00]))  // header + 2 of 64 bytes

        let journal = try open(directory)
        #expect(journal.lastSequence == 10)
        #expect(!logs.records(containing: "cut a record torn by a crash").isEmpty)
        #expect(!logs.records(containing: "(10 bytes)").isEmpty)
        journal.append(TestEvents.numbered(11), sequence: 11)
        let chunk = JournalReader(journal: journal).read(from: 1, before: 12, maxEvents: 100)
        #expect(chunk.events.map(\.sequence) == Array(1...11) && chunk.missing == 0)
        // The mapped segment is reserved ahead; closed, the file holds exactly its records again.
        let record11 = try #require(journal.segments.last?.bytes) - Int64(whole)
        #expect(record11 > 0)
        _ = consume journal
        #expect(try FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int == whole + Int(record11))
    }

    @Test("Two sensors cannot share a journal; the error names the folder and the key to change")
    func lockIsExclusive() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let journal = try open(directory)
        let error = #expect(throws: JournalError.self) { try open(directory) }
        #expect(error?.description.contains(directory.path) == true)
        #expect(error?.description.contains("journal_dir") == true)
        _ = journal
    }

    @Test("Segments rotate; those every cursor has passed are deleted; a new sink's cursor starts at the end")
    func trimsConsumedSegments() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let journal = try open(directory, segmentBytes: 4096)
        let slow = try journal.openCursor(sinkName: "slow")
        let fast = try journal.openCursor(sinkName: "fast")
        for index in 1...200 {
            journal.append(TestEvents.numbered(index), sequence: UInt64(index))
        }
        #expect(journal.segments.count > 3)
        #expect(journal.segments.first?.firstSequence == 1)
        try fast.advance(to: 200)
        try slow.advance(to: 120)
        journal.trim()
        let firstKept = try #require(journal.segments.first?.firstSequence)
        #expect(firstKept > 1 && firstKept <= 121)
        #expect(journal.segments.count >= 1)
        let chunk = JournalReader(journal: journal).read(from: 121, before: 201, maxEvents: 1000)
        #expect(chunk.events.map(\.sequence) == Array(121...200) && chunk.missing == 0)

        let late = try journal.openCursor(sinkName: "late")
        #expect(late.position == 200)
        journal.removeCursors(except: ["fast", "late"])
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("cursor-slow").path))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("cursor-fast").path))
    }

    @Test("Over its size limit the journal deletes the oldest segment, logs it, and readers count the gap")
    func sizeLimitDeletesOldest() async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let journal = try open(directory, maxBytes: 16_384, segmentBytes: 4096)
        let stuck = try journal.openCursor(sinkName: "stuck")
        for index in 1...400 {
            journal.append(TestEvents.numbered(index), sequence: UInt64(index))
        }
        // Trimming is the journal thread's work, after each rotation.
        #expect(try await eventually { journal.totalBytes <= 16_384 + 4096 })
        #expect(stuck.position == 0)
        #expect(try await eventually { !logs.records(containing: "over its limit").isEmpty })
        let firstKept = try #require(journal.segments.first?.firstSequence)
        let chunk = JournalReader(journal: journal).read(from: 1, before: 401, maxEvents: 1000)
        #expect(chunk.missing == Int(firstKept) - 1)
        #expect(chunk.events.map(\.sequence) == Array(Int(firstKept)...400).map(UInt64.init))
    }
}
