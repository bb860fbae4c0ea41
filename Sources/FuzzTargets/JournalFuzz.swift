// The record codec is internal to SensorEvents (journal internals are not API); debug builds, which both the fuzz
// build and the tests are, compile it testable. A release build of the package compiles this target without it.
#if DEBUG
    @testable import SensorEvents
#endif

/// The journal record decoder fed arbitrary payloads (what a reader finds after a torn write, a bad disk or an
/// edited segment whose checksum still matches): it must refuse or decode, never crash, and what it decodes must
/// write back as a record that decodes to the same bytes again.
enum JournalFuzz {
    static func run(_ input: [UInt8]) throws(FuzzFailure) {
        #if DEBUG
            guard let queued = input.withUnsafeBytes({ JournalRecord.decode(payload: $0) }) else { return }
            let record = encode(queued)
            try check(record.count == JournalRecord.encodedSize(of: queued.event), "record size mismatch")
            let payload = Array(record[JournalRecord.headerSize...])
            let header = record.withUnsafeBytes { JournalRecord.header($0) }
            try check(header.length == payload.count, "header length \(header.length) for \(payload.count) bytes")
            try check(header.checksum == payload.withUnsafeBytes { CRC32.checksum($0) }, "header checksum mismatch")
            guard let again = payload.withUnsafeBytes({ JournalRecord.decode(payload: $0) }) else {
                throw FuzzFailure("a written record does not decode")
            }
            try check(again.sequence == queued.sequence, "sequence \(queued.sequence) read back as \(again.sequence)")
            try check(encode(again) == record, "a written record decodes to a different event")
        #endif
    }

    #if DEBUG
        static func encode(_ queued: QueuedEvent) -> [UInt8] {
            var record = [UInt8](repeating: 0, count: JournalRecord.encodedSize(of: queued.event))
            record.withUnsafeMutableBytes { JournalRecord.write(queued.event, sequence: queued.sequence, into: $0) }
            return record
        }
    #endif
}
