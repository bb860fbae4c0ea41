import Foundation
import Logging
import TestSupport
import Testing

@testable import SensorEvents

@Suite("Journal records: checksum vectors, and segments written byte by byte as the format describes")
struct JournalRecordTests {
    /// Bitwise CRC-32 (reflected 0xEDB88320), written here independently of the journal's implementation.
    private static func referenceCRC(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
            }
        }
        return ~crc
    }

    static let vectors: [(text: String, crc: UInt32)] = [
        ("", 0),
        ("a", 0xE8B7_BE43),
        ("123456789", 0xCBF4_3926),
        ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
    ]

    @Test("CRC-32 matches the published check values", arguments: vectors)
    func knownVectors(text: String, crc: UInt32) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { CRC32.checksum($0) } == crc)
        #expect(Self.referenceCRC(bytes) == crc)
    }

    @Test("CRC-32 of long and unaligned buffers matches the bitwise reference")
    func longBuffers() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<10_007).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        for start in [0, 1, 3, 7] {
            let slice = Array(bytes[start...])
            #expect(slice.withUnsafeBytes { CRC32.checksum($0) } == Self.referenceCRC(slice))
        }
    }

    /// A record laid out by hand from the format's description: `[length][CRC-32][payload]`, little endian.
    private static func handWrittenRecord(sequence: UInt64, event: SensorEvent) -> [UInt8] {
        var payload: [UInt8] = []
        func integer<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { payload += $0 } }
        func string(_ text: String) {
            integer(UInt32(text.utf8.count))
            payload += text.utf8
        }
        integer(sequence)
        string(event.kind.rawValue)
        withUnsafeBytes(of: event.eventID.uuid) { payload += $0 }
        string(event.sensorID)
        integer(UInt64(bitPattern: event.timeUnixMicros))
        integer(event.schemaVersion)
        integer(UInt32(event.fields.count))
        for field in event.fields {
            string(field.name)
            switch field.value {
            case .null: payload.append(0)
            case .int(let value):
                payload.append(1)
                integer(UInt64(bitPattern: value))
            case .float(let value):
                payload.append(2)
                integer(value.bitPattern)
            case .text(let value):
                payload.append(3)
                string(value)
            case .bool(let value): payload += [4, value ? 1 : 0]
            }
        }
        var record: [UInt8] = []
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { record += $0 }
        withUnsafeBytes(of: referenceCRC(payload).littleEndian) { record += $0 }
        return record + payload
    }

    @Test("A segment written before this version (same format, same checksum) reads back, and appends go on")
    func readsEarlierSegments() throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        var events = (1...20).map { TestEvents.numbered($0) }
        events[3].fields.append(EventField("text", .text("ünïcode \"quoted\"\n")))
        events[4].fields.append(EventField("flag", .bool(true)))
        events[5].fields.append(EventField("nothing", .null))
        let bytes = events.enumerated().flatMap { Self.handWrittenRecord(sequence: UInt64($0 + 1), event: $1) }
        try Data(bytes).write(to: directory.appendingPathComponent("journal-00000000000000000001.log"))

        let logs = LogCapture()
        let journal = try EventJournal(configuration: .init(directory: directory.path), logger: logs.logger)
        #expect(journal.lastSequence == 20)
        #expect(logs.records(containing: "torn").isEmpty)
        let next = TestEvents.numbered(21)
        #expect(journal.append(next, sequence: 21))
        let chunk = JournalReader(journal: journal).read(from: 1, before: 22, maxEvents: 100)
        #expect(chunk.events.map(\.event) == events + [next])
        #expect(chunk.missing == 0)
        // What this version appends is byte for byte what the format describes.
        let segment = try Data(contentsOf: directory.appendingPathComponent("journal-00000000000000000001.log"))
        let appended = Self.handWrittenRecord(sequence: 21, event: next)
        #expect(Array(segment[bytes.count..<(bytes.count + appended.count)]) == appended)
    }
}
