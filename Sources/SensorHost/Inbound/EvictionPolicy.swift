/// Which staying peer gives up its slot when a full sensor (`[session] mode = "stay"`, `[network] max_inbound`
/// reached) takes a newcomer, after Bitcoin Core's inbound eviction (`AttemptToEvictConnection`): long-lived
/// peers and network diversity are protected, and the peer to go comes from the network that holds the most
/// slots. A value type with no I/O.
///
/// 1. The older half of the candidates is protected (long-lived peers are the useful ones, and an attacker must
///    hold its connections for as long as honest peers to displace them).
/// 2. The oldest peer of every prefix is protected: no network loses its longest-connected peer.
/// 3. Of the rest, the youngest peer of the prefix with the most candidates goes (the newest among equals).
/// With nobody left, nobody is evicted and the newcomer is turned away.
struct EvictionPolicy {
    /// One staying peer.
    struct Candidate: Sendable, Equatable {
        /// Identifies the session to the caller.
        var id: Int
        /// Its prefix (IPv4 /24, IPv6 /48).
        var prefix: SourceKey
        /// When it connected; smaller is older.
        var connectedAt: Int64
    }

    /// The peer to evict, or `nil` to turn the newcomer away.
    static func choose(from candidates: [Candidate]) -> Candidate? {
        let byAge = candidates.sorted { ($0.connectedAt, $0.id) < ($1.connectedAt, $1.id) }
        var protected = Set(byAge.prefix(byAge.count / 2).map(\.id))
        var seenPrefixes: Set<SourceKey> = []
        for candidate in byAge where seenPrefixes.insert(candidate.prefix).inserted {
            protected.insert(candidate.id)
        }
        let remaining = byAge.filter { !protected.contains($0.id) }
        let counts = Dictionary(grouping: candidates, by: \.prefix).mapValues(\.count)
        guard
            let crowded = remaining.map(\.prefix).max(by: {
                (counts[$0] ?? 0, $0.description) < (counts[$1] ?? 0, $1.description)
            })
        else { return nil }
        return remaining.last { $0.prefix == crowded }
    }
}
