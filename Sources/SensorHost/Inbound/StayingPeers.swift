import KaspaP2P
import Synchronization

/// The settled sessions of `stay` mode, for eviction when the sensor is full (``EvictionPolicy``).
final class StayingPeers: Sendable {
    private struct Entry {
        var prefix: SourceKey
        var connectedAt: Int64
        var session: PeerSession
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Registers a settled session; returns the id to ``remove(_:)`` it with when it ends.
    func add(_ session: PeerSession, from ip: IPAddress, connectedAt: Int64) -> Int {
        state.withLock { state in
            state.nextID += 1
            state.entries[state.nextID] = Entry(
                prefix: SourceKey.prefix(of: ip), connectedAt: connectedAt, session: session)
            return state.nextID
        }
    }

    /// The session ended.
    func remove(_ id: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Evicts one peer as the policy chooses; false when every peer is protected.
    func evictOne() -> Bool {
        let chosen = state.withLock { state -> PeerSession? in
            let candidates = state.entries.map { id, entry in
                EvictionPolicy.Candidate(id: id, prefix: entry.prefix, connectedAt: entry.connectedAt)
            }
            guard let victim = EvictionPolicy.choose(from: candidates) else { return nil }
            return state.entries.removeValue(forKey: victim.id)?.session
        }
        chosen?.evict()
        return chosen != nil
    }
}
