package import Foundation

/// A server's `Retry-After` header (RFC 9110, 10.2.3), handed to the host with `retry_after` on 429 and 503: the
/// host, which owns retries, then waits that long instead of its own backoff (at most an hour).
package enum RetryAfter {
    /// Parses a `Retry-After` value, delay-seconds or an HTTP-date (IMF-fixdate, and the obsolete RFC 850 and
    /// asctime forms), as seconds from `now`; `nil` if it is neither.
    package static func seconds(_ value: String, now: Date = Date()) -> TimeInterval? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text), seconds >= 0 {
            return TimeInterval(seconds)
        }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) {
                return max(0, date.timeIntervalSince(now))
            }
        }
        return nil
    }
}
