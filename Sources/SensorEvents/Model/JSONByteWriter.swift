import Foundation

/// Writes JSON bytes through a raw cursor into space reserved up front in an `[UInt8]`.
///
/// Building event JSON was the sink thread's largest cost (a profile of figure 3b put ~7 µs per event in per-byte
/// array appends, each with its own uniqueness and capacity check). Here the caller reserves an upper bound of the
/// output once (``append(to:reserving:_:)``), every write is a store or a `memcpy` through a pointer, and the
/// unused rest of the reservation is cut off at the end. Writers must stay within the bound they reserved.
struct JSONByteWriter: ~Copyable {
    /// The first byte of the reserved space.
    private let start: UnsafeMutablePointer<UInt8>
    /// The next byte to write.
    private var cursor: UnsafeMutablePointer<UInt8>
    /// One past the reserved space: every write checks it (a wrong bound traps instead of corrupting memory).
    private let end: UnsafeMutablePointer<UInt8>

    private init(_ space: UnsafeMutableBufferPointer<UInt8>) {
        // Unsafe: the pointers are only used inside `append(to:reserving:_:)`'s `withUnsafeMutableBufferPointer`.
        start = space.baseAddress!
        cursor = start
        end = start + space.count
    }

    /// The bytes written so far.
    var count: Int { cursor - start }

    /// Appends what `body` writes to `out`; `body` must write at most `bound` bytes.
    @inline(__always)
    static func append(to out: inout [UInt8], reserving bound: Int, _ body: (inout JSONByteWriter) -> Void) {
        let first = out.count
        appendZeros(bound, to: &out)
        let written = out.withUnsafeMutableBufferPointer { buffer in
            // Unsafe: the writer only sees the `bound` bytes just appended, and does not outlive this closure.
            var writer = JSONByteWriter(UnsafeMutableBufferPointer(rebasing: buffer[first...]))
            body(&writer)
            return writer.count
        }
        out.removeLast(bound - written)
    }

    /// Zeros to reserve space with: appending from a contiguous buffer is one `memcpy` (appending
    /// `repeatElement(0, count:)` is a loop of single stores).
    private static let zeros = [UInt8](repeating: 0, count: 16_384)

    private static func appendZeros(_ count: Int, to out: inout [UInt8]) {
        var rest = count
        zeros.withUnsafeBufferPointer { zeros in
            while rest > 0 {
                let chunk = min(rest, zeros.count)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: zeros[..<chunk]))
                rest -= chunk
            }
        }
    }

    /// The most bytes ``string(_:)`` writes for `text`: quotes, and every byte escaped as `\u00XX`.
    static func bound(of text: String) -> Int {
        text.utf8.count * 6 + 2
    }

    /// Writes one byte.
    @inline(__always)
    mutating func byte(_ value: UInt8) {
        precondition(cursor < end, "JSONByteWriter: bound exceeded")
        // Unsafe: within the reserved space (the caller's bound).
        cursor.pointee = value
        cursor += 1
    }

    /// Writes constant text as it is (already valid JSON: keys with their quotes and colon, punctuation).
    @inline(__always)
    mutating func raw(_ text: StaticString) {
        raw(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Writes bytes as they are.
    @inline(__always)
    mutating func raw(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(end - cursor >= bytes.count, "JSONByteWriter: bound exceeded")
        // Unsafe: within the reserved space; the source is a distinct buffer, so the ranges do not overlap.
        cursor.update(from: source, count: bytes.count)
        cursor += bytes.count
    }

    /// Writes `text` as a quoted JSON string, escaping quotes, backslashes and control characters; at most
    /// ``bound(of:)`` bytes. Runs that need no escaping are copied with one `memcpy`.
    mutating func string(_ text: String) {
        byte(UInt8(ascii: "\""))
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { escaped($0) }
        if done == nil {
            var copy = text
            copy.withUTF8 { escaped($0) }
        }
        byte(UInt8(ascii: "\""))
    }

    private mutating func escaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in bytes.indices {
            let value = bytes[index]
            guard value < 0x20 || value == UInt8(ascii: "\"") || value == UInt8(ascii: "\\") else { continue }
            raw(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            escape(value)
            runStart = index + 1
        }
        raw(UnsafeBufferPointer(rebasing: bytes[runStart...]))
    }

    private mutating func escape(_ value: UInt8) {
        byte(UInt8(ascii: "\\"))
        switch value {
        case UInt8(ascii: "\n"): byte(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): byte(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): byte(UInt8(ascii: "t"))
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): byte(value)
        default:
            raw("u00")
            byte(Self.hexDigit(value >> 4))
            byte(Self.hexDigit(value & 0x0f))
        }
    }

    @inline(__always)
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// Writes an integer in decimal (at most 20 bytes), as `String(value)` spells it.
    mutating func integer(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        unsigned(value.magnitude)
    }

    /// Writes an unsigned integer in decimal (at most 20 bytes).
    mutating func unsigned(_ value: UInt64) {
        var digits = 1
        var limit: UInt64 = 10
        while digits < 20 && value >= limit {
            digits += 1
            limit &*= 10
        }
        zeroPadded(value, width: digits)
    }

    /// Writes `value` with exactly `width` decimal digits (leading zeros; higher digits are dropped).
    mutating func zeroPadded(_ value: UInt64, width: Int) {
        precondition(end - cursor >= width, "JSONByteWriter: bound exceeded")
        var rest = value
        var position = cursor + width
        while position > cursor {
            position -= 1
            // Unsafe: `position` stays within the `width` bytes checked above.
            position.pointee = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        cursor += width
    }

    /// Writes a field value (at most ``bound(of:)`` bytes); non-finite floats become `null`, as JSON has no
    /// spelling for them.
    mutating func value(_ value: EventValue) {
        switch value {
        case .null:
            raw("null")
        case .int(let number):
            integer(number)
        case .float(let number):
            guard number.isFinite else { return raw("null") }
            // `String(Double)` is the shortest round-tripping form (e.g. `3.2`, `1e-05`); at most 24 bytes.
            unescaped(String(number))
        case .bool(let flag):
            if flag { raw("true") } else { raw("false") }
        case .text(let text):
            string(text)
        }
    }

    /// The most bytes ``value(_:)`` writes for `value`.
    static func bound(of value: EventValue) -> Int {
        if case .text(let text) = value { return bound(of: text) }
        return 32
    }

    /// Writes the UTF-8 bytes of `text` as they are (at most `text.utf8.count` bytes).
    mutating func unescaped(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ raw($0) }) == nil {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { raw($0) }
        }
    }

    /// Writes the UUID in its canonical lowercase form (36 bytes), without quotes.
    mutating func uuid(_ uuid: UUID) {
        withUnsafeBytes(of: uuid.uuid) { raw in
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    byte(UInt8(ascii: "-"))
                }
                byte(Self.hexDigit(raw[index] >> 4))
                byte(Self.hexDigit(raw[index] & 0x0f))
            }
        }
    }
}
