import Foundation
import TestSupport
import Testing

@testable import SensorEvents

/// A journal record can never exceed the size the reader accepts: an event with huge text reads back cut, never
/// as a corrupt record.
@Suite("Journal record bounds")
struct JournalBoundTests {
    private let logs = LogCapture()

    @Test("An ordinary event is unchanged")
    func ordinaryEventUnchanged() {
        let event = TestEvents.numbered(1)
        #expect(JournalRecord.bounded(event) == event)
    }

    @Test("A 1 MiB text value is cut to 64 KiB and marked; the event journals and reads back whole")
    func hugeTextIsCut() throws {
        var event = TestEvents.numbered(1)
        event.fields.append(EventField("peer_network", .text(String(repeating: "x", count: 1 << 20))))
        let bounded = JournalRecord.bounded(event)
        #expect(bounded.eventID == event.eventID && bounded.fields.count == event.fields.count)
        guard case .text(let text) = bounded.fields.last?.value else {
            Issue.record("the field must stay text")
            return
        }
        #expect(text.hasPrefix(String(repeating: "x", count: 1000)))
        #expect(text.hasSuffix("…[cut from \(1 << 20) bytes]"))
        #expect(text.utf8.count < JournalRecord.maxTextBytes + 64)
        try #expect(roundTrip(bounded) == bounded)
    }

    @Test("Hundreds of long fields are all cut short so that the record stays under 16 MiB")
    func manyLongFields() throws {
        var event = TestEvents.numbered(1)
        for index in 0..<300 {
            event.fields.append(EventField("field_\(index)", .text(String(repeating: "y", count: 60_000))))
        }
        #expect(JournalRecord.encodedSize(of: event) > JournalRecord.maxPayloadSize)
        let bounded = JournalRecord.bounded(event)
        #expect(JournalRecord.encodedSize(of: bounded) <= JournalRecord.maxPayloadSize)
        try #expect(roundTrip(bounded) == bounded)
    }

    private func roundTrip(_ event: SensorEvent) throws -> SensorEvent? {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let journal = try EventJournal(configuration: .init(directory: directory.path), logger: logs.logger)
        #expect(journal.append(event, sequence: 1))
        let read = JournalReader(journal: journal).read(from: 1, before: 2, maxEvents: 10)
        #expect(read.missing == 0)
        return read.events.first?.event
    }
}
