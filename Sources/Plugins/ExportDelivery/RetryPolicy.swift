package import Foundation

/// How long to wait before sending a failed batch again: exponential backoff with full jitter (a random delay
/// between 0 and min(retry_max, retry_initial × 2^attempt)), or the server's `Retry-After` on 429 and 503.
package struct RetryPolicy {
    /// The cap of the first draw, in milliseconds.
    let initialMilliseconds: Int
    /// The largest cap, in milliseconds.
    let maxMilliseconds: Int
    /// The longest `Retry-After` obeyed (a server asking for more gets this): one hour.
    static let retryAfterLimit: TimeInterval = 3600
    /// Failed attempts of the current batch so far.
    private(set) var attempts = 0

    /// A policy with the configured bounds.
    init(initialMilliseconds: Int, maxMilliseconds: Int) {
        self.initialMilliseconds = initialMilliseconds
        self.maxMilliseconds = maxMilliseconds
    }

    /// The delay before the next attempt, in seconds; `retryAfter` (seconds, already parsed) wins when present.
    mutating func nextDelay(retryAfter: TimeInterval?) -> TimeInterval {
        attempts += 1
        if let retryAfter {
            return min(max(retryAfter, 0), Self.retryAfterLimit)
        }
        let exponent = min(attempts - 1, 40)
        let cap = min(Double(maxMilliseconds), Double(initialMilliseconds) * pow(2, Double(exponent)))
        return Double.random(in: 0...cap) / 1000
    }

    /// Starts over after a batch was delivered or given up.
    mutating func reset() {
        attempts = 0
    }

    /// Parses a `Retry-After` value, delay-seconds or an HTTP-date (RFC 9110: IMF-fixdate, and the obsolete
    /// RFC 850 and asctime forms), as seconds from `now`; `nil` if it is neither.
    package static func parseRetryAfter(_ value: String, now: Date = Date()) -> TimeInterval? {
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
