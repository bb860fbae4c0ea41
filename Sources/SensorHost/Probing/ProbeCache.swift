import KaspaP2P
import Synchronization

/// Recent probe results per target (with a time-to-live and a size bound) and the probes in flight, so one peer
/// that reconnects is not probed every time and simultaneous connections share one probe.
final class ProbeCache: Sendable {
    enum Lookup {
        /// A fresh cached result.
        case hit(ProbeResult)
        /// Another task is probing this target; await its result.
        case wait(PendingProbe)
        /// Nothing known: the caller probes and then calls ``store(_:for:completing:)``.
        case miss(PendingProbe)
    }

    private struct Entry {
        var result: ProbeResult
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var entries: [PeerAddress: Entry] = [:]
        var inFlight: [PeerAddress: PendingProbe] = [:]
    }

    private let ttl: Duration
    private let capacity: Int
    private let state = Mutex(State())

    init(ttl: Duration, capacity: Int) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// A fresh cached result for `target` that `reusable` accepts, else the probe in flight, else a miss (the
    /// caller probes). A cached result `reusable` refuses (another node's id) is a miss: it is probed again.
    func lookup(_ target: PeerAddress, reusable: (ProbeResult) -> Bool = { _ in true }) -> Lookup {
        let now = ContinuousClock.now
        return state.withLock { state in
            if let entry = state.entries[target] {
                if entry.expires > now, reusable(entry.result) { return .hit(entry.result) }
                state.entries[target] = nil
            }
            if let pending = state.inFlight[target] { return .wait(pending) }
            let pending = PendingProbe()
            state.inFlight[target] = pending
            return .miss(pending)
        }
    }

    /// Caches `result` and completes `pending` (the in-flight entry ``lookup(_:reusable:)`` made), if any. A
    /// pending probe may have been completed early (when the node's Version arrived); completing again is a no-op.
    func store(_ result: ProbeResult, for target: PeerAddress, completing pending: PendingProbe?) {
        let now = ContinuousClock.now
        state.withLock { state in
            if let pending, state.inFlight[target] === pending {
                state.inFlight[target] = nil
            }
            // Only results of real dials are worth reusing.
            guard result.attempts > 0, ttl > .zero else { return }
            if state.entries.count >= capacity {
                state.entries = state.entries.filter { $0.value.expires > now }
                if state.entries.count >= capacity {
                    // Still full of fresh results: the eighth closest to expiring goes, never the whole cache
                    // (emptying it would let a flood of new targets make every known peer be dialed again).
                    let oldest = state.entries.sorted { $0.value.expires < $1.value.expires }.prefix(
                        max(1, capacity / 8))
                    for (key, _) in oldest { state.entries[key] = nil }
                }
            }
            state.entries[target] = Entry(result: result, expires: now + ttl)
        }
        pending?.complete(result)
    }
}

/// A probe result that other tasks can wait for.
final class PendingProbe: Sendable {
    private struct State {
        var result: ProbeResult?
        var waiters: [CheckedContinuation<ProbeResult, Never>] = []
    }

    private let state = Mutex(State())

    var value: ProbeResult {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> ProbeResult? in
                    if let result = state.result { return result }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    /// The result, if it is set.
    var current: ProbeResult? {
        state.withLock { $0.result }
    }

    /// Replaces a result already set with a more complete one (what the probe learnt after the label, such as
    /// a Reject); does nothing before ``complete(_:)``.
    func refine(_ result: ProbeResult) {
        state.withLock { state in
            if state.result != nil { state.result = result }
        }
    }

    /// Sets the result (only the first call counts) and resumes every waiter.
    func complete(_ result: ProbeResult) {
        let waiters = state.withLock { state -> [CheckedContinuation<ProbeResult, Never>] in
            guard state.result == nil else { return [] }
            state.result = result
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }
}
