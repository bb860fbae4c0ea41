import Foundation
package import SensorPluginAPI

/// Maps field names to SQL parameter indexes without creating a `String` per lookup: an open-addressing table
/// keyed by the FNV-1a hash of the name's bytes, verified with `memcmp` against one arena holding every name.
/// Built once per prepared statement; the slots hold no references, so a lookup retains and releases nothing.
package struct FieldNameIndex {
    private struct Slot {
        var hash: UInt64 = 0
        /// Where the name starts in `names`; -1 for an empty slot.
        var offset = -1
        var length = 0
        var parameter: Int32 = 0
    }

    private var slots: [Slot]
    private let names: [UInt8]
    private let mask: Int

    /// Creates an index of `names` (each mapped to its parameter index).
    package init(_ names: [(name: String, parameter: Int32)]) {
        var size = 16
        while size < names.count * 4 { size *= 2 }
        var slots = [Slot](repeating: Slot(), count: size)
        var arena: [UInt8] = []
        mask = size - 1
        for entry in names {
            let bytes = Array(entry.name.utf8)
            let hash = bytes.withUnsafeBytes { Self.hash($0) }
            var index = Int(truncatingIfNeeded: hash) & mask
            while slots[index].offset >= 0 { index = (index + 1) & mask }
            slots[index] = Slot(hash: hash, offset: arena.count, length: bytes.count, parameter: entry.parameter)
            arena += bytes
        }
        self.slots = slots
        self.names = arena
    }

    /// The parameter index for the field called `name`, or `nil` for fields this schema has no column for.
    package func parameter(for name: sensor_str) -> Int32? {
        guard let pointer = name.ptr else { return nil }
        let hash = Self.hash(UnsafeRawBufferPointer(start: pointer, count: name.len))
        return slots.withUnsafeBufferPointer { slots in
            names.withUnsafeBytes { names in
                var index = Int(truncatingIfNeeded: hash) & mask
                while slots[index].offset >= 0 {
                    let slot = slots[index]
                    if slot.hash == hash && slot.length == name.len
                        && (slot.length == 0 || memcmp(names.baseAddress! + slot.offset, pointer, slot.length) == 0)
                    {
                        return slot.parameter
                    }
                    index = (index + 1) & mask
                }
                return nil
            }
        }
    }

    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
