public import KaspaP2P
import Synchronization

/// Tracks one session's RequestAddresses rounds: which addresses were already seen, and whether the last round
/// brought anything new (a node answers with up to 1000 random entries of a book of up to 4096, so a few rounds
/// enumerate it; a round with nothing new means the book is exhausted).
public final class AddressHarvest: Sendable {
    private struct State {
        var seen: Set<PeerAddress> = []
        var lastRoundNew = 0
        var rounds: [[PeerAddress]] = []
    }

    private let state = Mutex(State())

    /// Creates an empty harvest.
    public init() {}

    /// Records one `Addresses` answer; returns how many of its entries were new in this session.
    @discardableResult
    public func record(_ addresses: [PeerAddress]) -> Int {
        state.withLock { state in
            let new = addresses.reduce(into: 0) { count, address in
                if state.seen.insert(address).inserted { count += 1 }
            }
            state.lastRoundNew = new
            state.rounds.append(addresses)
            return new
        }
    }

    /// False once a round brought nothing new.
    public var wantsAnotherRound: Bool { state.withLock { $0.rounds.isEmpty || $0.lastRoundNew > 0 } }

    /// Every answer in order of arrival.
    public var rounds: [[PeerAddress]] { state.withLock { $0.rounds } }

    /// Distinct addresses seen.
    public var distinctCount: Int { state.withLock { $0.seen.count } }
}
