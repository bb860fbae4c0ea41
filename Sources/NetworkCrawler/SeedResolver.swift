import Foundation
public import KaspaP2P

/// Resolves DNS seeders (A and AAAA records, the network's default port for every address) and `host:port`
/// seeds, each within a timeout, so a hanging resolver never holds a task. The lookup (`getaddrinfo` by default)
/// blocks, so it runs on a thread of its own; the answer or the timeout, whichever comes first, resumes the
/// caller at once. IP literals are parsed without any lookup.
public struct SeedResolver: Sendable {
    /// A blocking name lookup: the A and AAAA records of a host name, or why not.
    public typealias Lookup = @Sendable (String) -> Result<[IPAddress], ResolveFailure>

    /// How long one host name may take (millisecond precision).
    public var timeout: Duration
    private let lookup: Lookup

    /// Creates a resolver that asks the system resolver (`getaddrinfo`), or `lookup` (tests).
    public init(timeout: Duration = .seconds(10), lookup: @escaping Lookup = SeedResolver.systemLookup) {
        self.timeout = timeout
        self.lookup = lookup
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

    /// The A and AAAA records of `host`, or why not: whichever comes first of the lookup's answer, ``timeout``
    /// and the caller's cancellation. A lookup still blocked in `getaddrinfo` after that finishes on its thread
    /// and is ignored.
    func lookUp(_ host: String) async -> Result<[IPAddress], ResolveFailure> {
        let answer = FirstAnswer<Result<[IPAddress], ResolveFailure>>()
        let timeout = self.timeout
        let lookup = self.lookup
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                answer.wait(with: continuation)
                let timer = Task {
                    // Cancelled when the answer came: that answer must win, not this timeout.
                    guard (try? await Task.sleep(for: timeout)) != nil else { return }
                    answer.deliver(.failure(ResolveFailure(message: "no answer within \(timeout)")))
                }
                Thread.detachNewThread {
                    let result = lookup(host)
                    timer.cancel()
                    answer.deliver(result)
                }
            }
        } onCancel: {
            answer.deliver(.failure(ResolveFailure(message: "cancelled")))
        }
    }

    /// The system resolver: `getaddrinfo` for A and AAAA records (blocks).
    public static let systemLookup: Lookup = { SeedResolver.getAddresses($0) }

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
public struct ResolveFailure: Error, Sendable, Hashable {
    /// Why, e.g. the resolver's message or "no answer within 0.05 seconds".
    public var message: String

    /// Creates a failure.
    public init(message: String) {
        self.message = message
    }
}
