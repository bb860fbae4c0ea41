import Foundation
import Synchronization
import TestSupport

/// The minimal local HTTP receiver of the export benchmark: answers every POST with 200 and counts the events in
/// it (occurrences of `"event_id":`; the export body is uncompressed JSON). `hang` makes it read requests and
/// never answer: the deliberately slow sink's endpoint.
final class EventCountingReceiver: Sendable {
    private let server: LoopbackHTTPServer
    private let received = EventCount()

    /// Binds 127.0.0.1:0.
    init(hang: Bool = false) throws {
        let received = self.received
        server = try LoopbackHTTPServer { request, connection in
            if hang {
                connection.waitForClose()
                return
            }
            received.value.add(Self.countEvents(request.body), ordering: .relaxed)
            connection.respond(status: 200)
        }
    }

    /// `http://127.0.0.1:<port>/events`.
    var endpoint: String { server.baseURL + "/events" }

    /// Events received so far.
    var events: Int { received.value.load(ordering: .relaxed) }

    /// Stops serving.
    func stop() { server.stop() }

    /// Counts `"event_id":`, finding each candidate quote with libc's vectorised `memchr`: the receiver shares
    /// the machine's two cores with the sensor, and a byte-at-a-time scan of every 200 KB body cost about as much
    /// CPU as the sink's own HTTP work (a quarter of the sink thread's time in a profile, all of it while the sink
    /// waited for the answer).
    static func countEvents(_ body: [UInt8]) -> Int {
        let needle = Array(#""event_id":"#.utf8)
        return body.withUnsafeBytes { haystack in
            needle.withUnsafeBytes { pattern in
                guard let base = haystack.baseAddress, let wanted = pattern.baseAddress else { return 0 }
                let end = base + haystack.count
                var count = 0
                var cursor = base
                while end - cursor >= pattern.count, let quote = memchr(cursor, Int32(pattern[0]), end - cursor) {
                    let candidate = UnsafeRawPointer(quote)
                    if end - candidate >= pattern.count && memcmp(candidate, wanted, pattern.count) == 0 {
                        count += 1
                        cursor = candidate + pattern.count
                    } else {
                        cursor = candidate + 1
                    }
                }
                return count
            }
        }
    }
}

/// The receiver's event count, shared with its request handler.
private final class EventCount: Sendable {
    let value = Atomic<Int>(0)
}
