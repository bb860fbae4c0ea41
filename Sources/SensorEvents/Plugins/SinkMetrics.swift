import Metrics

/// The per-sink metrics, all labelled `sink=<name>`, created through an injected `MetricsFactory` (the host never
/// bootstraps the global metrics system for them).
struct SinkMetrics: Sendable {
    /// `sensor_sink_queue_depth`: events accepted but not yet finished (waiting or being written).
    let queueDepth: Gauge
    /// `sensor_sink_delivered_total`: events the plugin accepted with `SENSOR_OK`.
    let delivered: Counter
    /// `sensor_sink_dropped_total`: events not delivered to the plugin in this run: a disabled instance, the
    /// drain deadline, published after shutdown, (without a journal) a full queue, and refused events the
    /// dead-letter file could not take. With a journal, those dropped by a disabled instance or the drain deadline
    /// are sent after the next start.
    let dropped: Counter
    /// `sensor_sink_errors_total`: `write_batch` calls that returned `SENSOR_ERROR` (or an unknown status).
    let errors: Counter
    /// `sensor_sink_dead_lettered_total`: events the plugin refused for good (`SENSOR_ERROR` batches and
    /// `reject_event`), written to the sink's dead-letter file.
    let deadLettered: Counter
    /// `sensor_sink_retries_total`: `write_batch` calls that returned `SENSOR_RETRY`.
    let retries: Counter
    /// `sensor_sink_journal_replayed_total`: events read back from the journal for this sink (the backlog after a
    /// restart, and events its full queue refused).
    let replayed: Counter
    /// `sensor_sink_disabled`: 1 once the circuit breaker has disabled the instance, else 0.
    let disabled: Gauge
    /// `sensor_sink_cursor_ahead_total`: starts at which the sink's journal cursor was ahead of the journal's end
    /// (numbering was raised above it so that no new event is skipped).
    let cursorAhead: Counter
    /// `sensor_sink_crashes_total`: process deaths inside this sink's `write_batch`, found at start.
    let crashes: Counter

    /// Creates the metrics of sink `sinkName` through `factory`, with both gauges at 0.
    init(sinkName: String, factory: any MetricsFactory) {
        let dimensions = [("sink", sinkName)]
        queueDepth = Gauge(label: SinkMetricNames.queueDepth, dimensions: dimensions, factory: factory)
        delivered = Counter(label: SinkMetricNames.delivered, dimensions: dimensions, factory: factory)
        dropped = Counter(label: SinkMetricNames.dropped, dimensions: dimensions, factory: factory)
        errors = Counter(label: SinkMetricNames.errors, dimensions: dimensions, factory: factory)
        deadLettered = Counter(label: SinkMetricNames.deadLettered, dimensions: dimensions, factory: factory)
        retries = Counter(label: SinkMetricNames.retries, dimensions: dimensions, factory: factory)
        replayed = Counter(label: SinkMetricNames.replayed, dimensions: dimensions, factory: factory)
        disabled = Gauge(label: SinkMetricNames.disabled, dimensions: dimensions, factory: factory)
        cursorAhead = Counter(label: SinkMetricNames.cursorAhead, dimensions: dimensions, factory: factory)
        crashes = Counter(label: SinkMetricNames.crashes, dimensions: dimensions, factory: factory)
        disabled.record(0)
        queueDepth.record(0)
    }
}

/// Names of the metrics the sink dispatcher reports (all with a `sink` dimension; plugin metrics also `name`).
public enum SinkMetricNames {
    /// Gauge: events accepted but not yet finished.
    public static let queueDepth = "sensor_sink_queue_depth"
    /// Counter: events delivered with `SENSOR_OK`.
    public static let delivered = "sensor_sink_delivered_total"
    /// Counter: events that will never reach the plugin.
    public static let dropped = "sensor_sink_dropped_total"
    /// Counter: `write_batch` calls that failed with `SENSOR_ERROR` or an unknown status.
    public static let errors = "sensor_sink_errors_total"
    /// Counter: events refused for good and written to the sink's dead-letter file.
    public static let deadLettered = "sensor_sink_dead_lettered_total"
    /// Counter: `write_batch` calls answered with `SENSOR_RETRY`.
    public static let retries = "sensor_sink_retries_total"
    /// Counter: events read back from the journal.
    public static let replayed = "sensor_sink_journal_replayed_total"
    /// Gauge: 1 when the instance is disabled.
    public static let disabled = "sensor_sink_disabled"
    /// Gauge: 1 while the sink is unhealthy because `write_batch` ran past `write_deadline_ms`.
    public static let writeOverdue = "sensor_sink_write_overdue"
    /// Counter: `write_batch` calls that ran past `write_deadline_ms`.
    public static let writeOverdueCalls = "sensor_sink_write_overdue_total"
    /// Counter: starts at which the sink's journal cursor was ahead of the journal's end.
    public static let cursorAhead = "sensor_sink_cursor_ahead_total"
    /// Counter: process deaths inside the sink's `write_batch`, detected at the next start.
    public static let crashes = "sensor_sink_crashes_total"
    /// Counter reported by the plugin through `host->add_counter` (dimensions `sink`, `name`).
    public static let pluginCounter = "sensor_sink_plugin_counter_total"
    /// Gauge reported by the plugin through `host->set_gauge` (dimensions `sink`, `name`).
    public static let pluginGauge = "sensor_sink_plugin_gauge"
}
