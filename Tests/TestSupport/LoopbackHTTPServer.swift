import Foundation
import Synchronization

/// A real HTTP/1.1 server on 127.0.0.1 for tests, on POSIX sockets only (independent of the plugins' libcurl):
/// one request per connection, handled in turn on the server's own thread by `handler`, which answers through
/// the connection (or never does). It can go down (the port refuses connections) and come back on the same port.
public final class LoopbackHTTPServer: Sendable {
    /// Handles one request; the server closes the connection when it returns.
    public typealias Handler = @Sendable (HTTPConnection.Request, HTTPConnection) -> Void

    private struct State {
        var wantsUp = true
        var isUp = false
        var isStopped = false
    }

    /// The port, the same across down/up.
    public let port: UInt16
    private let state = Mutex(State())

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Binds 127.0.0.1:0 and starts serving on its own thread.
    public init(handler: @escaping Handler) throws {
        let fd = try Self.listen(port: 0)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        state.withLock { $0.isUp = true }
        let thread = Thread { [self] in serve(listening: fd, handler: handler) }
        thread.start()
    }

    /// Whether ``stop()`` was called.
    public var isStopped: Bool { state.withLock { $0.isStopped } }

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

    private func serve(listening initial: Int32, handler: Handler) {
        var listener = initial
        while !isStopped {
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
            let fd = accept(listener, nil, nil)
            if fd >= 0 {
                let connection = HTTPConnection(fd: fd, isStopped: { [self] in isStopped })
                if let request = connection.readRequest() {
                    handler(request, connection)
                }
                close(fd)
            }
        }
        if listener >= 0 {
            close(listener)
        }
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
