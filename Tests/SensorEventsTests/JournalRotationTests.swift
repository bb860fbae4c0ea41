import Foundation
import TestSupport
import Testing

@testable import SensorEvents

@Suite("Event journal: rotation off the publish path (the spare, the journal's thread, crash recovery)")
struct JournalRotationTests {
    private let logs = LogCapture()

    private func open(_ directory: URL, segmentBytes: Int64 = 4096) throws -> EventJournal {
        try EventJournal(
            configuration: .init(directory: directory.path, segmentBytes: segmentBytes), logger: logs.logger)
    }

    /// The records of the numbered events `range` (sequence = number), as a segment file holds them.
    private static func records(_ range: ClosedRange<Int>) -> Data {
        var data = Data()
        for index in range {
            let event = TestEvents.numbered(index)
            var bytes = [UInt8](repeating: 0, count: JournalRecord.encodedSize(of: event))
            bytes.withUnsafeMutableBytes { JournalRecord.write(event, sequence: UInt64(index), into: $0) }
            data.append(contentsOf: bytes)
        }
        return data
    }

    private static func size(_ url: URL) throws -> Int64? {
        try (FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value
    }

    @Test("With the spare ready, every rotation only swaps memory; the thread closes, names and cuts back segments")
    func rotationUsesTheSpare() async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let journal = try open(directory)
        // A sink that has received nothing: trimming keeps every segment.
        let cursor = try journal.openCursor(sinkName: "reader")
        for index in 1...300 {
            // Never let the thread fall behind: then no rotation may open a file on the publish path.
            #expect(try await eventually { journal.hasSpare })
            journal.append(TestEvents.numbered(index), sequence: UInt64(index))
        }
        let rotations = journal.rotations
        #expect(rotations.total >= 5 && rotations.withoutSpare == 0, "\(rotations)")
        #expect(try await eventually { journal.segments.allSatisfy { !$0.awaitsName } && journal.hasSpare })
        let segments = journal.segments
        for segment in segments.dropLast() {
            #expect(segment.path == EventJournal.segmentPath(directory.path, first: segment.firstSequence))
            #expect(try Self.size(URL(fileURLWithPath: segment.path)) == segment.bytes, "closed and cut back")
        }
        let spares = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasPrefix("journal-spare-")
        }
        try #require(spares.count == 1, "\(spares)")
        let spare = directory.appendingPathComponent(spares[0])
        #expect(try Self.size(spare) == 4096, "the next segment is reserved ahead")
        let chunk = JournalReader(journal: journal).read(from: 1, before: 301, maxEvents: 1000)
        #expect(chunk.events.map(\.sequence) == Array(1...300) && chunk.missing == 0)
        #expect(cursor.position == 0)
        _ = consume journal
        #expect(!FileManager.default.fileExists(atPath: spare.path), "an unused spare is deleted at close")
    }

    @Test("Appending faster than the thread prepares spares loses nothing; every segment ends up named")
    func appendsOutrunningTheThread() async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let journal = try open(directory)
        let cursor = try journal.openCursor(sinkName: "reader")
        for index in 1...3000 {
            journal.append(TestEvents.numbered(index), sequence: UInt64(index))
        }
        #expect(journal.rotations.total >= 50)
        let chunk = JournalReader(journal: journal).read(from: 1, before: 3001, maxEvents: 5000)
        #expect(chunk.events.map(\.sequence) == Array(1...3000) && chunk.missing == 0)
        #expect(try await eventually { journal.segments.allSatisfy { !$0.awaitsName } })
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasPrefix("journal-") && !$0.hasPrefix("journal-spare-")
        }
        #expect(Set(names) == Set(journal.segments.map { ($0.path as NSString).lastPathComponent }))
        #expect(cursor.position == 0)
    }

    @Test("A crash after the spare was swapped in but before it was named: the next start names it, nothing is lost")
    func spareHoldingRecordsIsAdopted() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        try Self.records(1...5).write(to: URL(fileURLWithPath: EventJournal.segmentPath(directory.path, first: 1)))
        // The spare as a crash leaves it: records 6 to 8, then the rest of its reserved, never written space.
        try (Self.records(6...8) + Data(count: 4096)).write(to: directory.appendingPathComponent("journal-spare-7.log"))

        let journal = try open(directory)
        #expect(journal.lastSequence == 8)
        #expect(!logs.records(containing: "named the segment a crash left under the spare's name").isEmpty)
        let adopted = EventJournal.segmentPath(directory.path, first: 6)
        #expect(FileManager.default.fileExists(atPath: adopted))
        #expect(journal.segments.map(\.path) == [EventJournal.segmentPath(directory.path, first: 1), adopted])
        #expect(journal.segments.last?.bytes == Int64(Self.records(6...8).count), "its reserved space released")
        journal.append(TestEvents.numbered(9), sequence: 9)
        let chunk = JournalReader(journal: journal).read(from: 1, before: 10, maxEvents: 100)
        #expect(chunk.events.map(\.sequence) == Array(1...9) && chunk.missing == 0)
    }

    @Test("A full segment the thread had not closed before a crash is cut back at the next start")
    func unclosedSegmentIsCutBack() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let first = URL(fileURLWithPath: EventJournal.segmentPath(directory.path, first: 1))
        try (Self.records(1...5) + Data(count: 8192)).write(to: first)
        try Self.records(6...8).write(to: URL(fileURLWithPath: EventJournal.segmentPath(directory.path, first: 6)))

        let journal = try open(directory)
        #expect(journal.lastSequence == 8)
        #expect(!logs.records(containing: "released 8192 bytes of reserved space").isEmpty)
        #expect(try Self.size(first) == Int64(Self.records(1...5).count))
        #expect(journal.segments.first?.bytes == Int64(Self.records(1...5).count))
        let chunk = JournalReader(journal: journal).read(from: 1, before: 9, maxEvents: 100)
        #expect(chunk.events.map(\.sequence) == Array(1...8) && chunk.missing == 0)
    }

    @Test("An unused spare left by a crash is deleted at the next start")
    func unusedSpareIsDeleted() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        try Data(count: 4096).write(to: directory.appendingPathComponent("journal-spare-2.log"))
        let journal = try open(directory)
        #expect(journal.lastSequence == 0)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("journal-spare-2.log").path))
        #expect(journal.segments.map(\.firstSequence) == [1])
        journal.append(TestEvents.numbered(1), sequence: 1)
        let chunk = JournalReader(journal: journal).read(from: 1, before: 2, maxEvents: 10)
        #expect(chunk.events.map(\.sequence) == [1])
    }
}
