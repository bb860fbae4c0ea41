import Foundation
import SensorEvents
import Testing

@Suite("Event ids: time-ordered UUIDs (version 7)")
struct EventIDTests {
    @Test("Version 7, RFC variant, the creation time in the first 48 bits")
    func layout() {
        let micros: Int64 = 1_764_072_000_123_456
        let id = SensorEvent.makeEventID(unixMicros: micros)
        let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
        #expect(bytes[6] >> 4 == 7)
        #expect(bytes[8] >> 6 == 0b10)
        let millis = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(millis == UInt64(micros / 1000))
        #expect(id.uuidString.lowercased().hasPrefix("019abae2-8a7b-7"))
    }

    @Test("Ids of later milliseconds sort after earlier ones, as text too; ids of the same millisecond differ")
    func ordering() {
        let start: Int64 = 1_764_072_000_000_000
        let ids = (0..<1000).map { SensorEvent.makeEventID(unixMicros: start + Int64($0) * 1000) }
        let texts = ids.map { $0.uuidString.lowercased() }
        #expect(texts == texts.sorted())
        let sameMillisecond = (0..<10_000).map { _ in SensorEvent.makeEventID(unixMicros: start) }
        #expect(Set(sameMillisecond).count == sameMillisecond.count)
    }
}
