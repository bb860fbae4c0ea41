import KaspaP2P
import Synchronization

/// The per-source limits of the P2P listener (`[limits]`), shared by every listener: TCP connections are counted
/// from accept, streams from the moment they open. A refused connection or stream is never counted, and every
/// admitted one is released exactly once, when it closes.
final class SourceLimiter: Sendable {
    private struct State: Sendable {
        var connections: SourceLimits
        var streams: SourceLimits

        /// Where `counted` is kept (a key path, so that the count changes in place).
        static func path(_ counted: Counted) -> WritableKeyPath<State, SourceLimits> {
            counted == .connection ? \.connections : \.streams
        }
    }

    private let exemptLoopback: Bool
    private let state: Mutex<State>

    /// Limits as configured.
    init(_ limits: SensorConfiguration.Limits) {
        exemptLoopback = limits.exemptLoopback
        state = Mutex(
            State(
                connections: SourceLimits(
                    perSource: limits.maxConnectionsPerIP, perPrefix: limits.maxConnectionsPerPrefix),
                streams: SourceLimits(perSource: limits.maxStreamsPerIP, perPrefix: limits.maxStreamsPerPrefix)))
    }

    /// What is counted.
    enum Counted: Sendable {
        /// TCP connections, from accept.
        case connection
        /// Streams, from the moment they open.
        case stream
    }

    /// Counts a new connection or stream from `ip`, or says which limit refuses it.
    func admit(_ counted: Counted, from ip: IPAddress) -> SourceLimits.Refusal? {
        guard isLimited(ip) else { return nil }
        return state.withLock { $0[keyPath: State.path(counted)].admit(ip) }
    }

    /// A connection or stream ``admit(_:from:)`` counted has closed.
    func release(_ counted: Counted, from ip: IPAddress) {
        guard isLimited(ip) else { return }
        state.withLock { $0[keyPath: State.path(counted)].release(ip) }
    }

    /// Whether `ip` is counted at all (loopback may be exempt): only then is there anything to release.
    func isLimited(_ ip: IPAddress) -> Bool {
        !(exemptLoopback && ip.isLoopback)
    }
}
