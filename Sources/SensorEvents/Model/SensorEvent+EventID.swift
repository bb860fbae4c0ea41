public import Foundation

extension SensorEvent {
    /// A new event id: a time-ordered UUID (version 7, RFC 9562), 48 bits of Unix milliseconds followed by 74
    /// random bits.
    ///
    /// Ids made close in time sort close together (as bytes and as lowercase text), so a database index on the
    /// id, such as SQLiteSink's, grows at its end instead of having a random page rewritten for every event; they
    /// stay unique across sensors and runs through their random bits.
    public static func makeEventID(unixMicros: Int64 = nowUnixMicros()) -> UUID {
        var bytes = uuid_t(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { raw in
            // The 10 bytes after the time in one system call (SystemRandomNumberGenerator makes one per 8 bytes).
            arc4random_buf(raw.baseAddress! + 6, 10)
            let millis = UInt64(clamping: max(0, unixMicros / 1000))
            for index in 0..<6 {
                raw[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - index)))
            }
            raw[6] = 0x70 | (raw[6] & 0x0F)
            raw[8] = 0x80 | (raw[8] & 0x3F)
        }
        return UUID(uuid: bytes)
    }
}
