import Foundation
import Synchronization

/// A real HTTP/1.1 receiver on 127.0.0.1 for the tests, written against POSIX sockets only (independent of the
/// plugin's libcurl): one request per connection (`Connection: close`), Content-Length bodies, gzip decoded.
/// Its behaviour can be switched at run time, and it can go down (the port refuses connections) and come back.
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

        /// The `event_id`s of the events array of a `kaspa-sensor.events.v1` body.
        public var eventIDs: [String] {
            events.compactMap { $0["event_id"] as? String }
        }

        /// The events array of a `kaspa-sensor.events.v1` body.
        public var events: [[String: Any]] {
            envelope?["events"] as? [[String: Any]] ?? []
        }

        /// The body as a JSON object.
        public var envelope: [String: Any]? {
            body.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        }
    }

    private struct State {
        var behaviour: Behaviour = .status(200)
        var script: [Behaviour] = []
        var requests: [Request] = []
        var wantsUp = true
        var isUp = false
        var isStopped = false
    }

    /// The port, the same across down/up.
    public let port: UInt16
    private let state = Mutex(State())

    /// Binds 127.0.0.1:0 and starts serving on its own thread.
    public init() throws {
        let fd = try Self.listen(port: 0)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        state.withLock { $0.isUp = true }
        let thread = Thread { [self] in serve(listening: fd) }
        thread.start()
    }

    /// Every request received so far.
    public var requests: [Request] { state.withLock { $0.requests } }

    /// All event ids received in answered-200 requests (duplicates kept).
    public var deliveredIDs: [String] {
        requests.filter { $0.status.map { (200..<300).contains($0) } ?? false }.flatMap(\.eventIDs)
    }

    /// Switches the default behaviour.
    public func setBehaviour(_ behaviour: Behaviour) { state.withLock { $0.behaviour = behaviour } }

    /// Answers the next requests with `script`, one each, before the default behaviour applies again.
    public func script(_ script: [Behaviour]) { state.withLock { $0.script += script } }

    /// Closes the listening socket (connections are refused) and waits until it is closed.
    public func goDown() async throws { try await setUp(false) }

    /// Listens on the same port again and waits until it does.
    public func comeUp() async throws { try await setUp(true) }

    /// Stops serving for good.
    public func stop() { state.withLock { $0.isStopped = true } }

    private func setUp(_ up: Bool) async throws {
        state.withLock { $0.wantsUp = up }
        let deadline = ContinuousClock.now + .seconds(10)
        while state.withLock({ $0.isUp != up }) {
            guard ContinuousClock.now < deadline else { throw POSIXError(.ETIMEDOUT) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private func serve(listening initial: Int32) {
        var listener = initial
        while !state.withLock({ $0.isStopped }) {
            let wantsUp = state.withLock { $0.wantsUp }
            if !wantsUp && listener >= 0 {
                close(listener)
                listener = -1
                state.withLock { $0.isUp = false }
            } else if wantsUp && listener < 0 {
                listener = (try? Self.listen(port: port)) ?? -1
                state.withLock { $0.isUp = listener >= 0 }
            }
            guard listener >= 0 else {
                usleep(5_000)
                continue
            }
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            if connection >= 0 {
                handle(HTTPConnection(fd: connection))
                close(connection)
            }
        }
        if listener >= 0 {
            close(listener)
        }
    }

    private func handle(_ connection: HTTPConnection) {
        guard let (head, body) = connection.readRequest(stop: { self.state.withLock { $0.isStopped } }) else { return }
        let headers = Dictionary(
            head.split(separator: "\r\n").dropFirst().compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (
                    line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                )
            },
            uniquingKeysWith: { $1 }
        )
        let decoded = headers["content-encoding"] == "gzip" ? Gunzip.decode(body) : body
        let received = ContinuousClock.now
        let behaviour = state.withLock { state in state.script.isEmpty ? state.behaviour : state.script.removeFirst() }
        switch behaviour {
        case .status(let status, let extra):
            let body = "status \(status)"
            let lines = ["HTTP/1.1 \(status) Test", "Content-Length: \(body.utf8.count)", "Connection: close"] + extra
            connection.send(lines.joined(separator: "\r\n") + "\r\n\r\n" + body)
            record(Request(received: received, answered: .now, status: status, headers: headers, body: decoded))
        case .hang:
            record(Request(received: received, answered: nil, status: nil, headers: headers, body: decoded))
            connection.waitForClose(stop: { self.state.withLock { $0.isStopped } })
        }
    }

    private func record(_ request: Request) {
        state.withLock { $0.requests.append(request) }
    }

    private static func listen(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        return fd
    }
}
