/// How often one target may be dialed: at most `maxDials` probes of one source (an IPv4 address or an IPv6 /64)
/// in any `window`, whatever ports its peers name in their Versions. Without it, a peer that reconnects naming a
/// new port each time would make the sensor dial its address (or, through many peers, someone else's) without
/// end. A value type with no clock of its own.
struct DialRateLimit<Instant: InstantProtocol & Sendable>: Sendable where Instant.Duration == Duration {
    let maxDials: Int
    let window: Duration
    private var dials: [SourceKey: [Instant]] = [:]
    private var pruneAbove = 1024

    /// At most `maxDials` per `window` for each source.
    init(maxDials: Int, window: Duration) {
        self.maxDials = maxDials
        self.window = window
    }

    /// Counts a dial of `key` at `now` if the source has room, else refuses it (nothing counted).
    mutating func allow(_ key: SourceKey, at now: Instant) -> Bool {
        var recent = dials[key, default: []].filter { $0.advanced(by: window) > now }
        guard recent.count < maxDials else {
            dials[key] = recent
            return false
        }
        recent.append(now)
        dials[key] = recent
        if dials.count > pruneAbove {
            // Sources whose dials all left the window are forgotten; the map stays bounded by the recent ones.
            dials = dials.filter { $0.value.contains { $0.advanced(by: window) > now } }
            pruneAbove = max(1024, dials.count * 2)
        }
        return true
    }

    /// Sources remembered now.
    var trackedSources: Int { dials.count }
}
