import Foundation
public import KaspaP2P
import Synchronization

/// Resolves DNS seeders (A and AAAA records, the network's default port for every address) and `host:port`
/// seeds with `getaddrinfo` on a thread of its own, each within a timeout, so a hanging resolver never holds a
/// task. IP literals are parsed without any lookup.
public struct SeedResolver: Sendable {
    /// How long one host name may take.
    public var timeout: Duration

    /// Creates a resolver.
    public init(timeout: Duration = .seconds(10)) {
        self.timeout = timeout
    }

    /// Parses `host[:port]` items: IP literals directly, names through DNS; returns the addresses and, per item
    /// that failed, why.
    public func resolve(_ items: [String], defaultPort: UInt16) async -> (addresses: [PeerAddress], failures: [String])
    {
        var addresses: [PeerAddress] = []
        var failures: [String] = []
        for item in items {
            if let literal = PeerAddress(item, defaultPort: defaultPort) {
                addresses.append(literal)
                continue
            }
            var host = item
            var port = defaultPort
            if let colon = item.lastIndex(of: ":"), let number = UInt16(item[item.index(after: colon)...]) {
                host = String(item[..<colon])
                port = number
            }
            switch await lookUp(host) {
            case .success(let ips): addresses += ips.map { PeerAddress(ip: $0, port: port) }
            case .failure(let reason): failures.append("\(item): \(reason.message)")
            }
        }
        var seen: Set<PeerAddress> = []
        return (addresses.filter { seen.insert($0).inserted }, failures)
    }

    /// The A and AAAA records of `host`, or why not, within ``timeout``.
    func lookUp(_ host: String) async -> Result<[IPAddress], ResolveFailure> {
        let once = Mutex<CheckedContinuation<Result<[IPAddress], ResolveFailure>, Never>?>(nil)
        let timeout = self.timeout
        return await withCheckedContinuation { continuation in
            once.withLock { $0 = continuation }
            let finish: @Sendable (Result<[IPAddress], ResolveFailure>) -> Void = { result in
                once.withLock { pending in
                    pending?.resume(returning: result)
                    pending = nil
                }
            }
            Thread.detachNewThread { finish(Self.getAddresses(host)) }
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: Double(timeout.components.seconds))
                finish(.failure(ResolveFailure(message: "no answer within \(timeout)")))
            }
        }
    }

    private static func getAddresses(_ host: String) -> Result<[IPAddress], ResolveFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            return .failure(ResolveFailure(message: String(cString: gai_strerror(status))))
        }
        defer { freeaddrinfo(list) }
        var ips: [IPAddress] = []
        var cursor = list
        while let entry = cursor?.pointee {
            if let socketAddress = entry.ai_addr {
                if entry.ai_family == AF_INET {
                    let bytes = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
                    }
                    IPAddress(bytes: bytes).map { ips.append($0) }
                } else if entry.ai_family == AF_INET6 {
                    let bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                    }
                    IPAddress(bytes: bytes).map { ips.append($0) }
                }
            }
            cursor = entry.ai_next
        }
        return .success(ips)
    }
}

/// A host name could not be resolved.
struct ResolveFailure: Error {
    var message: String
}
