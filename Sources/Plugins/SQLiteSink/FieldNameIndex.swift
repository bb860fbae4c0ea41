import SensorPluginAPI

/// Maps field names to SQL parameter indexes without creating a `String` per lookup: an open-addressing table
/// keyed by the FNV-1a hash of the name's bytes, verified byte for byte. Built once per prepared statement.
struct FieldNameIndex {
    private struct Slot {
        var hash: UInt64
        var name: [UInt8]
        var parameter: Int32
    }

    private var slots: [Slot?]
    private let mask: Int

    /// Creates an index of `names` (each mapped to its parameter index).
    init(_ names: [(name: String, parameter: Int32)]) {
        var size = 16
        while size < names.count * 4 { size *= 2 }
        slots = Array(repeating: nil, count: size)
        mask = size - 1
        for entry in names {
            let bytes = Array(entry.name.utf8)
            let hash = bytes.withUnsafeBytes { Self.hash($0) }
            var index = Int(truncatingIfNeeded: hash) & mask
            while slots[index] != nil { index = (index + 1) & mask }
            slots[index] = Slot(hash: hash, name: bytes, parameter: entry.parameter)
        }
    }

    /// The parameter index for the field called `name`, or `nil` for fields this schema has no column for.
    func parameter(for name: sensor_str) -> Int32? {
        guard let pointer = name.ptr else { return nil }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: name.len)
        let hash = Self.hash(bytes)
        var index = Int(truncatingIfNeeded: hash) & mask
        while let slot = slots[index] {
            if slot.hash == hash && slot.name.elementsEqual(bytes) {
                return slot.parameter
            }
            index = (index + 1) & mask
        }
        return nil
    }

    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
