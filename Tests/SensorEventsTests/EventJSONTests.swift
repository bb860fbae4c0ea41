import Foundation
import Testing

@testable import SensorEvents

@Suite("Event JSON: byte for byte what the former writer produced")
struct EventJSONTests {
    /// Texts that exercise escaping: empty, plain, unicode, every control character, quotes and backslashes,
    /// small (inline) and large (heap) strings.
    static let texts: [String] = [
        "", "a", "plain text", "private", "203.0.113.7:16111", "ünïcödé", "日本語のテキスト", "emoji 🛰️👩‍💻",
        "quote \" and backslash \\ and slash /", "\"", "\\", "\\\"\\\"", "line\nbreak\rreturn\ttab",
        String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) }), "del \u{7f} nbsp \u{a0} ls \u{2028}",
        "\u{0}leading nul", "trailing nul\u{0}", String(repeating: "long text ", count: 200),
        String(repeating: "\u{1}\"", count: 300),
    ]

    static let values: [EventValue] =
        [.null, .bool(true), .bool(false)]
        + [0, 1, -1, 42, -42, 9, 10, 99, 100, 1_000_000, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
        .map { .int($0) }
        + [
            0.0, -0.0, 3.2, 12, 7200, 0.1 + 0.2, 1e-05, 1e-7, 1e16, 1e15, 123_456_789.125, -2.5,
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
            .pi, .nan, .infinity, -.infinity, .signalingNaN,
        ].map { .float($0) }
        + texts.map { .text($0) }

    /// Times around the epoch, leap days, year boundaries (0, 9999, 10000) and the ends of Int64.
    static let times: [Int64] = [
        0, 1, -1, 999_999, -999_999, 1_000_000, -1_000_000, 1_764_072_000_123_456, 951_782_400_000_000,
        951_868_799_999_999, 4_107_542_400_000_000, -2_208_988_800_000_000, -62_135_596_800_000_000,
        -62_167_219_200_000_000, -62_167_219_200_000_001, -62_198_755_200_000_000, 253_402_300_799_999_999,
        253_402_300_800_000_000, Int64.max, Int64.min, Int64.max - 999_999, Int64.min + 1,
    ]

    static func event(
        kind: String = "connection", sensorID: String = "bench", time: Int64 = 1_764_072_000_123_456,
        schemaVersion: UInt32 = 1, fields: [EventField]
    ) -> SensorEvent {
        SensorEvent(
            kind: SensorEvent.Kind(rawValue: kind), eventID: SensorEvent.makeEventID(unixMicros: time),
            sensorID: sensorID, timeUnixMicros: time, schemaVersion: schemaVersion, fields: fields)
    }

    static func expectSame(_ event: SensorEvent) {
        let new = event.jsonObject()
        let old = event.legacyJSONObject()
        #expect(new == old, "\(String(decoding: new, as: UTF8.self)) != \(String(decoding: old, as: UTF8.self))")
    }

    @Test("Every value kind, every text as a value, a field name, a kind and a sensor id")
    func valuesAndTexts() {
        Self.expectSame(Self.event(fields: []))
        Self.expectSame(
            Self.event(fields: Self.values.enumerated().map { EventField("field_\($0.offset)", $0.element) }))
        for value in Self.values {
            Self.expectSame(Self.event(fields: [EventField("value", value)]))
        }
        for text in Self.texts {
            Self.expectSame(Self.event(kind: text, sensorID: text, fields: [EventField(text, .text(text))]))
        }
    }

    @Test("Times and schema versions at their edges")
    func timesAndVersions() {
        for time in Self.times {
            Self.expectSame(Self.event(time: time, fields: [EventField("at", .int(time))]))
            #expect(RFC3339.format(unixMicros: time) == LegacyRFC3339.format(unixMicros: time))
        }
        for version: UInt32 in [0, 1, 9, 10, UInt32.max] {
            Self.expectSame(Self.event(schemaVersion: version, fields: []))
        }
    }

    @Test("Random events, random times over the whole Int64 range")
    func randomEvents() {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let fields = (0..<Int.random(in: 0...30, using: &random)).map { _ in
                EventField(Self.texts.randomElement(using: &random)!, Self.values.randomElement(using: &random)!)
            }
            let time =
                Bool.random(using: &random)
                ? Int64.random(in: .min ... .max, using: &random)
                : Int64.random(in: -100_000_000_000_000_000...300_000_000_000_000_000, using: &random)
            Self.expectSame(
                Self.event(
                    kind: Self.texts.randomElement(using: &random)!,
                    sensorID: Self.texts.randomElement(using: &random)!,
                    time: time, schemaVersion: UInt32.random(in: 0 ... .max, using: &random), fields: fields))
        }
    }

    @Test("Appending after existing bytes keeps them; the helpers match the former ones")
    func appending() {
        let event = Self.event(fields: [EventField("remote_ip", .text("203.0.113.7"))])
        var out: [UInt8] = Array("prefix".utf8)
        event.appendJSON(to: &out)
        #expect(out == Array("prefix".utf8) + event.legacyJSONObject())
        for text in Self.texts {
            var new: [UInt8] = [1]
            var old: [UInt8] = [1]
            JSONWriter.key(text, into: &new)
            LegacyJSONWriter.key(text, into: &old)
            JSONWriter.string(text, into: &new)
            LegacyJSONWriter.string(text, into: &old)
            #expect(new == old)
        }
    }
}
