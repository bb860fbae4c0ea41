import Synchronization

/// A clock whose time moves only when a test calls ``advance(by:)``: timing logic is tested without waiting and
/// without wall-clock windows. Sleepers wake when the time reaches their deadline; cancelling one throws
/// `CancellationError` as `ContinuousClock` does.
public final class ManualClock: Clock, Sendable {
    /// An instant: the time since the clock was made.
    public struct Instant: InstantProtocol, Sendable, CustomStringConvertible {
        /// Since the clock's start.
        public var offset: Duration

        /// The instant `offset` after the start.
        public init(offset: Duration) { self.offset = offset }

        /// This instant moved by `duration`.
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        /// From this instant to `other`.
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        /// Earlier.
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        /// `t+<offset>`.
        public var description: String { "t+\(offset)" }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
    }

    private let state = Mutex(State())

    /// A clock at its start.
    public init() {}

    /// The current time.
    public var now: Instant { state.withLock { $0.now } }
    /// Any duration can be slept.
    public var minimumResolution: Duration { .zero }

    /// The deadlines of the sleepers now waiting, earliest first.
    public var pendingDeadlines: [Instant] {
        state.withLock { $0.sleepers.values.map(\.deadline).sorted() }
    }

    /// Moves the time on and wakes every sleeper whose deadline it reached.
    public func advance(by duration: Duration) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Moves the time to `instant` (if it is later).
    public func advance(to instant: Instant) {
        let now = self.now
        if instant > now { advance(by: now.duration(to: instant)) }
    }

    /// Returns once ``advance(by:)`` reaches `deadline`; throws `CancellationError` when cancelled first.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
