import CZlib

/// CRC-32 (IEEE 802.3, the zlib polynomial) over a journal record's payload, to tell a torn or corrupt tail
/// from a valid record.
///
/// Computed by zlib's `crc32` (several bytes per step instead of one table lookup per byte); the checksum itself
/// is unchanged, so journals written by earlier versions read back as before.
enum CRC32 {
    /// The checksum of `bytes`.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        var crc: UInt = 0
        var start = base.assumingMemoryBound(to: Bytef.self)
        var remaining = bytes.count
        // zlib takes a 32-bit length; journal payloads are at most 16 MiB, but stay correct for any size.
        while remaining > 0 {
            let chunk = min(remaining, Int(UInt32.max))
            crc = crc32(crc, start, uInt(chunk))
            start += chunk
            remaining -= chunk
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
