import Foundation
public import KaspaP2P

#if canImport(Glibc)
    import Glibc
#endif

/// Raw listening sockets for dial tests: a listener that accepts and never speaks, and one whose accept queue is
/// full so that further SYNs are dropped (a connect then times out, as behind a silent firewall).
public final class RawListener: @unchecked Sendable {
    // Invariant: `descriptors` is written only in init and deinit.
    private var descriptors: [Int32] = []
    /// Where it listens.
    public let address: PeerAddress

    /// `saturated`: listen with backlog 0 and fill the queue with one connection that is never accepted.
    /// Otherwise every connection is accepted and sent `greeting` (nothing by default: a mute listener), as
    /// another protocol's server would greet a client, and then never written to again.
    public init(saturated: Bool, greeting: [UInt8] = []) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard bound == 0, listen(listener, 0) == 0 else { throw POSIXError(.EADDRINUSE) }
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        self.address = PeerAddress("127.0.0.1:\(port)")!
        descriptors.append(listener)
        if saturated {
            let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            descriptors.append(filler)
        } else {
            // Accept in the background so connections complete, and never write anything.
            let fd = listener
            Thread.detachNewThread {
                // Ends when deinit closes the listener. Accepted sockets stay open until the peer closes them.
                while true {
                    let connection = accept(fd, nil, nil)
                    guard connection >= 0 else { break }
                    if !greeting.isEmpty {
                        _ = greeting.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    }
                }
            }
        }
    }

    deinit {
        for descriptor in descriptors { close(descriptor) }
    }

    /// A port on 127.0.0.1 where nothing listens (bound and closed again).
    public static func closedPort() -> PeerAddress {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, length)
                _ = getsockname(fd, $0, &length)
            }
        }
        return PeerAddress("127.0.0.1:\(UInt16(bigEndian: address.sin_port))")!
    }
}

/// Opens a TCP connection that sends nothing (or only `sending`, as another protocol's client would) and
/// reports how long until the other side closes it.
public enum SilentClient {
    /// Seconds until the peer at `address` closed the connection, or `nil` if it was still open after `limit`
    /// seconds (or the connect failed).
    public static func secondsUntilClosed(_ address: PeerAddress, limit: Double, sending: [UInt8] = []) -> Double? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_addr.s_addr = inet_addr(address.ip.description)
        target.sin_port = address.port.bigEndian
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        if !sending.isEmpty {
            _ = sending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        var timeout = timeval(tv_sec: Int(limit.rounded(.up)), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let start = Date()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return Date().timeIntervalSince(start) }  // orderly close
            if count < 0 { return errno == EAGAIN || errno == EWOULDBLOCK ? nil : Date().timeIntervalSince(start) }
            // The server's HTTP/2 SETTINGS and GOAWAY arrive first; keep reading until the close.
        }
    }
}
