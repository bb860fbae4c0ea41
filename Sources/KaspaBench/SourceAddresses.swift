import KaspaP2P
import Synchronization

/// Hands out loopback source addresses round-robin across 127.0.0.0/8 (127.1.0.1 onwards), so that simulated
/// peers look like many hosts and no single source address runs out of ephemeral ports (or fills with TIME_WAIT).
final class SourceAddresses: Sendable {
    private let next = Atomic<Int>(0)
    private let count: Int
    private let firstOctet: Int

    /// Cycles through `count` addresses from 127.`firstOctet`.1.1 onwards.
    init(count: Int, firstOctet: Int = 1) {
        self.count = max(1, count)
        self.firstOctet = firstOctet
    }

    /// The next source address.
    func take() -> IPAddress {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue % count
        // 127.(1 + index / 64516).(index / 254 % 254 + 1).(index % 254 + 1): never .0 or .255 in the last octets.
        let a = firstOctet + index / (254 * 254)
        let b = index / 254 % 254 + 1
        let c = index % 254 + 1
        return IPAddress("127.\(a).\(b).\(c)")!
    }
}
