import Foundation
import KaspaP2P

/// Plain blocking socket checks on loopback.
enum LoopbackSocket {
    /// Whether a TCP connect to the IPv4 `address` succeeds right now.
    static func accepts(_ address: PeerAddress) -> Bool {
        guard let fd = connected(to: address) else { return false }
        close(fd)
        return true
    }

    /// A blocking TCP connection to the IPv4 `address`, from the IPv4 `source` when given; `nil` if it fails.
    static func connected(to address: PeerAddress, from source: String? = nil) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if let source, !call(bind, fd, ip: source, port: 0) {
            close(fd)
            return nil
        }
        guard call(connect, fd, ip: address.ip.description, port: address.port) else {
            close(fd)
            return nil
        }
        return fd
    }

    /// `operation` (bind or connect) on `fd` with an IPv4 socket address.
    private static func call(
        _ operation: (Int32, UnsafePointer<sockaddr>?, socklen_t) -> Int32, _ fd: Int32, ip: String, port: UInt16
    ) -> Bool {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_addr.s_addr = inet_addr(ip)
        socketAddress.sin_port = port.bigEndian
        return withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                operation(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Raises the soft open-file limit to the hard limit and returns both (soft, hard).
    static func raiseFileLimit() -> (soft: UInt64, hard: UInt64) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }
}
