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

    private static func countEvents(_ body: [UInt8]) -> Int {
        let needle = Array(#""event_id":"#.utf8)
        var count = 0
        var index = 0
        while index + needle.count <= body.count {
            if body[index] == needle[0] && body[index..<index + needle.count].elementsEqual(needle) {
                count += 1
                index += needle.count
            } else {
                index += 1
            }
        }
        return count
    }
}

/// The receiver's event count, shared with its request handler.
private final class EventCount: Sendable {
    let value = Atomic<Int>(0)
}
