import Foundation
import Synchronization

/// The HTTP export tests' receiver: a ``LoopbackHTTPServer`` that answers by a switchable behaviour and records
/// every request, gzip bodies decoded. It can go down (the port refuses connections) and come back.
public final class HTTPReceiver: Sendable {
    /// How the receiver answers.
    public enum Behaviour: Sendable {
        /// Answer with this status and extra headers.
        case status(Int, headers: [String] = [])
        /// Read the request and never answer (until the client gives up).
        case hang
    }

    /// One received request.
    public struct Request: Sendable {
        /// When it was fully read.
        public let received: ContinuousClock.Instant
        /// When it was answered (nil: never).
        public let answered: ContinuousClock.Instant?
        /// The status answered (nil: never).
        public let status: Int?
        /// Header fields, names lowercased.
        public let headers: [String: String]
        /// The body, gunzipped if it was gzip-encoded (nil: it did not decode).
        public let body: [UInt8]?

        /// The events array of a `kaspa-sensor.events.v1` body.
        public var events: [[String: Any]] {
            envelope?["events"] as? [[String: Any]] ?? []
        }

        /// The `event_id`s of the events array of a `kaspa-sensor.events.v1` body.
        public var eventIDs: [String] {
            events.compactMap { $0["event_id"] as? String }
        }

        /// The body as a JSON object.
        public var envelope: [String: Any]? {
            body.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        }
    }

    /// What the handler shares with the receiver.
    private final class Log: Sendable {
        struct State {
            var behaviour: Behaviour = .status(200)
            var script: [Behaviour] = []
            var requests: [Request] = []
        }

        let state = Mutex(State())
    }

    private let server: LoopbackHTTPServer
    private let log: Log

    /// The port, the same across down/up.
    public var port: UInt16 { server.port }

    /// Binds 127.0.0.1:0 and starts serving on its own thread.
    public init() throws {
        let log = Log()
        self.log = log
        server = try LoopbackHTTPServer { request, connection in Self.handle(request, connection, log: log) }
    }

    /// Every request received so far.
    public var requests: [Request] { log.state.withLock { $0.requests } }

    /// All event ids received in answered-200 requests (duplicates kept).
    public var deliveredIDs: [String] {
        requests.filter { $0.status.map { (200..<300).contains($0) } ?? false }.flatMap(\.eventIDs)
    }

    /// Switches the default behaviour.
    public func setBehaviour(_ behaviour: Behaviour) { log.state.withLock { $0.behaviour = behaviour } }

    /// Answers the next requests with `script`, one each, before the default behaviour applies again.
    public func script(_ script: [Behaviour]) { log.state.withLock { $0.script += script } }

    /// Closes the listening socket (connections are refused) and waits until it is closed.
    public func goDown() async throws { try await server.goDown() }

    /// Listens on the same port again and waits until it does.
    public func comeUp() async throws { try await server.comeUp() }

    /// Stops serving for good.
    public func stop() { server.stop() }

    private static func handle(_ request: HTTPConnection.Request, _ connection: HTTPConnection, log: Log) {
        let decoded = request.headers["content-encoding"] == "gzip" ? Gunzip.decode(request.body) : request.body
        let behaviour = log.state.withLock { state in
            state.script.isEmpty ? state.behaviour : state.script.removeFirst()
        }
        switch behaviour {
        case .status(let status, let extra):
            connection.respond(status: status, headers: extra, body: "status \(status)")
            let record = Request(
                received: request.received, answered: .now, status: status, headers: request.headers, body: decoded)
            log.state.withLock { $0.requests.append(record) }
        case .hang:
            let record = Request(
                received: request.received, answered: nil, status: nil, headers: request.headers, body: decoded)
            log.state.withLock { $0.requests.append(record) }
            connection.waitForClose()
        }
    }
}
