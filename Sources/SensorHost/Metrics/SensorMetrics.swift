public import CoreMetrics
public import Prometheus
import Synchronization

/// The sensor's Prometheus metrics, created through swift-metrics with an injected Prometheus factory (no global
/// bootstrap). Names follow the seed: `sensor_connections_total`, `sensor_probes_total{classification}`,
/// `sensor_peers_classified_public_total`, `sensor_peers_classified_private_total`, plus the ones listed in
/// README.md. Peer addresses are never labels.
public final class SensorMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory backed by ``registry``; sinks and other components create their metrics with it.
    public let factory: any MetricsFactory

    private let tcpConnections: CoreMetrics.Counter
    private let connections: CoreMetrics.Counter
    private let activeConnections: CoreMetrics.Gauge
    private let activeCount = Atomic<Int>(0)
    private let rejectedOverCapacity: CoreMetrics.Counter
    private let handshakesCompleted: CoreMetrics.Counter
    private let handshakeDuration: CoreMetrics.Timer
    private let probeDuration: CoreMetrics.Timer
    private let probesRunning: CoreMetrics.Gauge
    private let probeQueueDepth: CoreMetrics.Gauge
    private let peersPublic: CoreMetrics.Counter
    private let peersPrivate: CoreMetrics.Counter
    private let eventsEmitted: CoreMetrics.Counter
    private let addressesReceived: CoreMetrics.Counter

    /// Creates the metrics in a new registry.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        let latencyBuckets: [Duration] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
            .seconds(10), .seconds(30),
        ]
        factory.defaultDurationHistogramBuckets = latencyBuckets
        self.factory = factory
        tcpConnections = CoreMetrics.Counter(label: "sensor_tcp_connections_total", factory: factory)
        connections = CoreMetrics.Counter(label: "sensor_connections_total", factory: factory)
        activeConnections = CoreMetrics.Gauge(label: "sensor_active_connections", factory: factory)
        rejectedOverCapacity = CoreMetrics.Counter(label: "sensor_connections_rejected_total", factory: factory)
        handshakesCompleted = CoreMetrics.Counter(label: "sensor_handshakes_completed_total", factory: factory)
        handshakeDuration = CoreMetrics.Timer(label: "sensor_handshake_duration_seconds", factory: factory)
        probeDuration = CoreMetrics.Timer(label: "sensor_probe_duration_seconds", factory: factory)
        probesRunning = CoreMetrics.Gauge(label: "sensor_probes_running", factory: factory)
        probeQueueDepth = CoreMetrics.Gauge(label: "sensor_probe_queue_depth", factory: factory)
        peersPublic = CoreMetrics.Counter(label: "sensor_peers_classified_public_total", factory: factory)
        peersPrivate = CoreMetrics.Counter(label: "sensor_peers_classified_private_total", factory: factory)
        eventsEmitted = CoreMetrics.Counter(label: "sensor_events_emitted_total", factory: factory)
        addressesReceived = CoreMetrics.Counter(label: "sensor_addresses_received_total", factory: factory)
        activeConnections.record(0)
    }

    /// A TCP connection was accepted (it may never open a stream).
    func tcpConnectionAccepted() {
        tcpConnections.increment()
    }

    /// A TCP connection ended without opening a stream; `kind` is `silent_tcp`, `not_http2` or `no_grpc_stream`.
    func connectionWithoutStream(_ kind: String) {
        CoreMetrics.Counter(
            label: "sensor_connections_without_stream_total", dimensions: [("kind", kind)], factory: factory
        )
        .increment()
    }

    /// A peer opened a stream.
    func connectionOpened() {
        connections.increment()
        activeConnections.record(activeCount.add(1, ordering: .relaxed).newValue)
    }

    /// A peer's stream ended.
    func connectionClosed() {
        activeConnections.record(activeCount.subtract(1, ordering: .relaxed).newValue)
    }

    /// The number of open peer streams.
    var openConnections: Int { activeCount.load(ordering: .relaxed) }

    /// A peer was turned away because `max_inbound` was reached.
    func connectionRejectedOverCapacity() {
        rejectedOverCapacity.increment()
    }

    /// A handshake ended: `outcome` is `completed` or a failure code.
    func handshakeFinished(outcome: String, duration: Duration?) {
        if outcome == "completed" {
            handshakesCompleted.increment()
        } else {
            CoreMetrics.Counter(
                label: "sensor_handshake_failures_total", dimensions: [("reason", outcome)], factory: factory
            )
            .increment()
        }
        if let duration {
            handshakeDuration.recordNanoseconds(duration.nanoseconds)
        }
    }

    /// A probe decided a label. `fresh` is false for cached results, which do not count as newly classified peers.
    func probeFinished(classification: String, outcome: String, duration: Duration?, fresh: Bool) {
        CoreMetrics.Counter(
            label: "sensor_probes_total", dimensions: [("classification", classification)], factory: factory
        )
        .increment()
        CoreMetrics.Counter(label: "sensor_probe_outcomes_total", dimensions: [("outcome", outcome)], factory: factory)
            .increment()
        if let duration, fresh {
            probeDuration.recordNanoseconds(duration.nanoseconds)
        }
        guard fresh else { return }
        if classification == "public" {
            peersPublic.increment()
        } else if classification == "private" {
            peersPrivate.increment()
        }
    }

    /// Probes running and waiting changed.
    func probeLoad(running: Int, waiting: Int) {
        probesRunning.record(running)
        probeQueueDepth.record(waiting)
    }

    /// An event was handed to the sink dispatcher.
    func eventEmitted() {
        eventsEmitted.increment()
    }

    /// A peer gossiped `count` valid addresses.
    func addressesGossiped(_ count: Int) {
        addressesReceived.increment(by: count)
    }

    /// A TCP connection was closed at accept: its source or prefix (`scope` `ip` or `prefix`) was full.
    func connectionRefused(scope: String) {
        CoreMetrics.Counter(
            label: "sensor_connections_refused_total", dimensions: [("scope", scope)], factory: factory
        )
        .increment()
    }

    /// A stream was reset when it opened: over the limit of its connection, source or prefix (`scope`).
    func streamRefused(scope: String) {
        CoreMetrics.Counter(label: "sensor_streams_refused_total", dimensions: [("scope", scope)], factory: factory)
            .increment()
    }

    /// A staying peer gave up its slot to a newcomer (stay mode, full sensor).
    func peerEvicted() {
        CoreMetrics.Counter(label: "sensor_peers_evicted_total", factory: factory).increment()
    }

    /// A peer sent `count` Addresses messages that answered no request of ours (their entries were ignored).
    func unsolicitedAddresses(_ count: Int) {
        guard count > 0 else { return }
        CoreMetrics.Counter(label: "sensor_unsolicited_addresses_total", factory: factory).increment(by: count)
    }

    /// A session ended because its peer broke a rule of the protocol (`protocol_error` disconnects).
    func protocolError() {
        CoreMetrics.Counter(label: "sensor_protocol_errors_total", factory: factory).increment()
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}

extension Duration {
    /// Whole nanoseconds.
    var nanoseconds: Int64 {
        let parts = components
        return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }

    /// Milliseconds as a double, for events.
    var milliseconds: Double {
        let parts = components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }
}
