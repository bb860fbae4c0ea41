/// RFC 3339 timestamps with microsecond precision in UTC, e.g. `2026-11-25T12:00:00.123456Z`.
public enum RFC3339 {
    /// Formats microseconds since the Unix epoch.
    public static func format(unixMicros: Int64) -> String {
        var out: [UInt8] = []
        JSONByteWriter.append(to: &out, reserving: maxLength) { $0.timestamp(unixMicros: unixMicros) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The longest timestamp: a six-digit year (Int64 microseconds reach year 294247) with its sign or separator,
    /// then `MM-DDTHH:MM:SS.ffffffZ`.
    static let maxLength = 8 + 22
}

extension JSONByteWriter {
    /// Writes the RFC 3339 timestamp of `unixMicros` (at most ``RFC3339/maxLength`` bytes), without quotes.
    ///
    /// The date comes from days since the epoch by arithmetic (proleptic Gregorian calendar, as `gmtime_r`
    /// computes it, after Howard Hinnant's `civil_from_days`): no libc call per event. Years outside 0...9999 are
    /// written as they are; a negative year without the `-` that would follow it (the former writer's spelling).
    mutating func timestamp(unixMicros: Int64) {
        // Floor division: the microseconds and the time of day are never negative (and Int64.min cannot overflow).
        var micros = unixMicros % 1_000_000
        var seconds = unixMicros / 1_000_000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        let days = floorDivide(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        if year < 0 {
            integer(year)
        } else {
            atLeast(year, width: 4)
            byte(UInt8(ascii: "-"))
        }
        zeroPadded(UInt64(month), width: 2)
        byte(UInt8(ascii: "-"))
        zeroPadded(UInt64(day), width: 2)
        byte(UInt8(ascii: "T"))
        zeroPadded(UInt64(secondOfDay / 3_600), width: 2)
        byte(UInt8(ascii: ":"))
        zeroPadded(UInt64(secondOfDay / 60 % 60), width: 2)
        byte(UInt8(ascii: ":"))
        zeroPadded(UInt64(secondOfDay % 60), width: 2)
        byte(UInt8(ascii: "."))
        zeroPadded(UInt64(micros), width: 6)
        byte(UInt8(ascii: "Z"))
    }

    /// Writes a non-negative `value` with at least `width` digits.
    private mutating func atLeast(_ value: Int64, width: Int) {
        var digits = width
        var limit: Int64 = 1
        for _ in 0..<width { limit *= 10 }
        while value >= limit {
            digits += 1
            limit *= 10
        }
        zeroPadded(UInt64(value), width: digits)
    }

    private func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }
}
