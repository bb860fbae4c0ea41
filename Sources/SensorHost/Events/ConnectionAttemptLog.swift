public import KaspaP2P
import SensorEvents
import Synchronization

/// Records the connections that never opened a stream (``ConnectionAttempt``) as events, rate-limited per
/// source: the first of each kind from a source in an interval is published in full, the rest of that interval
/// as one summary event with their count (``RepeatSummarizer``). ``run()`` publishes summaries as their windows
/// end and, when it stops, every open one, so no attempt goes uncounted.
public final class ConnectionAttemptLog: Sendable {
    private struct Key: Hashable, Sendable {
        var source: String
        var kind: ConnectionAttempt.Kind
    }

    private struct State: Sendable {
        var summarizer: RepeatSummarizer<Key, ContinuousClock.Instant>
        /// The last counted attempt's first bytes per key, for its summary.
        var lastBytes: [Key: FirstBytes] = [:]
    }

    private let sensorID: String
    private let network: KaspaNetwork
    private let events: any EventPublishing
    private let metrics: SensorMetrics
    private let state: Mutex<State>

    /// Creates a log publishing to `events`, one full event per source, kind and `interval`, tracking at most
    /// `capacity` sources at once.
    public init(
        sensorID: String, network: KaspaNetwork, interval: Duration, capacity: Int = 10_000,
        events: any EventPublishing, metrics: SensorMetrics
    ) {
        self.sensorID = sensorID
        self.network = network
        self.events = events
        self.metrics = metrics
        self.state = Mutex(State(summarizer: RepeatSummarizer(interval: interval, capacity: capacity)))
    }

    /// Records one attempt (called on the connection's event loop; never blocks).
    public func record(_ attempt: ConnectionAttempt) {
        if attempt.kind.openedNoStream {
            metrics.connectionWithoutStream(attempt.kind.rawValue)
        }
        let key = Key(source: attempt.source, kind: attempt.kind)
        let now = ContinuousClock.now
        let (decision, evicted) = state.withLock { state in
            var evicted: [RepeatSummarizer<Key, ContinuousClock.Instant>.Summary] = []
            let decision = state.summarizer.record(key, at: now, evicted: &evicted)
            if decision == .counted { state.lastBytes[key] = attempt.firstBytes }
            return (decision, evicted.map { ($0, state.lastBytes.removeValue(forKey: $0.key)) })
        }
        if decision == .report {
            publish(attempt.event(sensorID: sensorID, network: network))
        }
        publish(evicted, now: now)
    }

    /// Publishes summaries as their windows end, once a second, until cancelled; then publishes every open one.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(1))
            } catch {
                break
            }
            flush { $0.expire(at: ContinuousClock.now) }
        }
        flush { $0.drain() }
    }

    private func flush(
        _ take: (inout RepeatSummarizer<Key, ContinuousClock.Instant>) -> [RepeatSummarizer<
            Key, ContinuousClock.Instant
        >.Summary]
    ) {
        let now = ContinuousClock.now
        let summaries = state.withLock { state in
            take(&state.summarizer).map { ($0, state.lastBytes.removeValue(forKey: $0.key)) }
        }
        publish(summaries, now: now)
    }

    private func publish(
        _ summaries: [(RepeatSummarizer<Key, ContinuousClock.Instant>.Summary, FirstBytes?)],
        now: ContinuousClock.Instant
    ) {
        guard !summaries.isEmpty else { return }
        let wallNow = SensorEvent.nowUnixMicros()
        func micros(_ instant: ContinuousClock.Instant) -> Int64 {
            let ago = now - instant
            return wallNow - ago.components.seconds * 1_000_000 - ago.components.attoseconds / 1_000_000_000_000
        }
        for (summary, bytes) in summaries {
            publish(
                ConnectionAttempt.summaryEvent(
                    sensorID: sensorID, network: network, source: summary.key.source, kind: summary.key.kind,
                    count: summary.count, firstAtMicros: micros(summary.first), lastAtMicros: micros(summary.last),
                    lastFirstBytes: bytes))
        }
    }

    private func publish(_ event: SensorEvent) {
        metrics.eventEmitted()
        events.publish(event)
    }
}
