/// Sequential reads from a fuzz input; past the end every read gives zeros, so any input is a complete program
/// for the structured harnesses (libFuzzer mutates bytes, not well-formed inputs).
struct FuzzBytes {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A little-endian `UInt16`.
    mutating func uint16() -> UInt16 {
        UInt16(byte()) | UInt16(byte()) << 8
    }

    /// Up to `count` bytes (fewer at the end of the input).
    mutating func chunk(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, offset + count)
        guard offset < end else { return [] }
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}
