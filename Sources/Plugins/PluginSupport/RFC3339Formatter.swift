import Foundation

/// RFC 3339 timestamps with microseconds in UTC (`2026-11-25T12:00:00.123456Z`), written without allocating.
package enum RFC3339Formatter {
    /// Writes the timestamp for `unixMicros` into `buffer` (at least 32 bytes) and returns its length.
    package static func format(unixMicros: Int64, into buffer: UnsafeMutablePointer<CChar>) -> Int32 {
        var seconds = unixMicros / 1_000_000
        var micros = unixMicros % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var position = 0
        func put(_ value: Int, digits: Int) {
            var value = value
            for offset in stride(from: digits - 1, through: 0, by: -1) {
                buffer[position + offset] = CChar(48 + value % 10)
                value /= 10
            }
            position += digits
        }
        func put(_ character: Character) {
            buffer[position] = CChar(character.asciiValue!)
            position += 1
        }
        put(Int(parts.tm_year) + 1900, digits: 4)
        put("-")
        put(Int(parts.tm_mon) + 1, digits: 2)
        put("-")
        put(Int(parts.tm_mday), digits: 2)
        put("T")
        put(Int(parts.tm_hour), digits: 2)
        put(":")
        put(Int(parts.tm_min), digits: 2)
        put(":")
        put(Int(parts.tm_sec), digits: 2)
        put(".")
        put(Int(micros), digits: 6)
        put("Z")
        buffer[position] = 0
        return Int32(position)
    }
}
