import Foundation
import Logging
import Metrics
import SensorPluginAPI
import Synchronization

/// One sink instance and the dedicated OS thread that makes every call to it: `create`, `write_batch`, `flush`
/// and `destroy` all run on that thread, never on the Swift cooperative pool or a NIO event loop.
///
/// Thread safety: `queue`, `metrics`, `logger`, the one-shot results and `drainDeadline` are safe to use from
/// any thread; `instance`, `marshaller`, `consecutiveErrors` and `isDisabled` are touched only by the worker
/// thread (after `start()` has spawned it), which is why the class is `@unchecked Sendable`.
final class SinkWorker: @unchecked Sendable {
    /// The `[[sink]]` entry this worker serves.
    let configuration: SinkConfiguration
    /// The library the instance comes from.
    let plugin: LoadedPlugin
    /// The bounded queue publishers offer events to.
    let queue: SinkQueue
    /// The sink's metrics.
    let metrics: SinkMetrics
    /// The host logger with `sink` metadata.
    let logger: Logger
    /// Set once the thread has finished; `true` if the instance was created (and has now been destroyed).
    let finished = OneShot<Bool>()
    private let bridge: HostAPIBridge
    private let created = OneShot<Int32>()
    /// True once the circuit breaker has opened (readable from any thread, for health reports).
    let isDisabledForReports = Atomic<Bool>(false)
    /// Monotonic nanoseconds after which queued events are dropped instead of delivered; 0 while running.
    private let drainDeadline = Atomic<UInt64>(0)

    // Worker thread only.
    private var instance: UnsafeMutableRawPointer?
    private let marshaller = EventBatchMarshaller()
    private var consecutiveErrors = 0
    private var isDisabled = false
    private var lastErrorLog: UInt64?
    private var unloggedErrors = 0

    /// Prepares a worker; nothing runs until ``start(createTimeout:)``.
    init(
        configuration: SinkConfiguration,
        plugin: LoadedPlugin,
        sensorID: String,
        logger: Logger,
        metricsFactory: any MetricsFactory
    ) {
        var logger = logger
        logger[metadataKey: "sink"] = "\(configuration.name)"
        self.configuration = configuration
        self.plugin = plugin
        self.logger = logger
        self.queue = SinkQueue(
            capacity: configuration.queueCapacity,
            batchMax: configuration.batchMax,
            flushInterval: configuration.flushInterval
        )
        self.metrics = SinkMetrics(sinkName: configuration.name, factory: metricsFactory)
        self.bridge = HostAPIBridge(
            sinkName: configuration.name,
            sensorID: sensorID,
            logger: logger,
            factory: metricsFactory
        )
    }

    /// Starts the thread, which calls `create()`; returns its status, or `nil` if it did not return in time.
    func start(createTimeout: Duration) async -> Int32? {
        let thread = Thread { [self] in
            run()
        }
        thread.start()
        return await created.wait(timeout: createTimeout)
    }

    /// Stops accepting events; queued ones are delivered until `deadline` (monotonic nanoseconds), then the
    /// instance is flushed and destroyed.
    func close(deadline: UInt64) {
        drainDeadline.store(max(1, deadline), ordering: .releasing)
        queue.close()
    }

    /// Counts `count` events as dropped.
    func drop(_ count: Int) {
        if count > 0 {
            metrics.dropped.increment(by: Int64(count))
        }
    }

    // MARK: - Worker thread

    private func run() {
        // Named from inside the thread so the OS thread name is set too (Linux keeps 15 bytes: top, perf, gdb).
        Thread.current.name = "sink-\(configuration.name)"
        let status = create()
        created.fulfil(status)
        guard status == SENSOR_OK else {
            finished.fulfil(false)
            return
        }
        var batch: [QueuedEvent] = []
        batch.reserveCapacity(configuration.batchMax)
        while queue.take(into: &batch) {
            var start = batch.startIndex
            while start < batch.endIndex {
                let end = min(start + configuration.batchMax, batch.endIndex)
                if isDisabled {
                    drop(end - start)
                } else {
                    deliver(batch[start..<end])
                }
                metrics.queueDepth.record(queue.finish(end - start))
                start = end
            }
            batch.removeAll(keepingCapacity: true)
        }
        if !isDisabled {
            flush()
        }
        plugin.descriptor.destroy!(instance)
        instance = nil
        let unreported = queue.takeUnreportedDrops()
        if unreported > 0 {
            logger.warning("dropped \(unreported) more events because the sink queue was full")
        }
        logger.debug("sink instance destroyed")
        finished.fulfil(true)
    }

    private func create() -> Int32 {
        let json = configuration.pluginConfigurationJSON()
        var created: UnsafeMutableRawPointer?
        let status = json.withCString { text in
            plugin.descriptor.create!(bridge.api, sensor_str(ptr: text, len: strlen(text)), &created)
        }
        instance = created
        return status
    }

    private func deliver(_ chunk: ArraySlice<QueuedEvent>) {
        marshaller.withMarshalledBatch(chunk) { events, count in
            var backoff = configuration.retryInitial.nanoseconds
            while true {
                if drainDeadlinePassed(at: SinkClock.monotonicNanoseconds()) {
                    logger.warning("drain deadline passed; dropped \(count) events")
                    return drop(count)
                }
                let status = plugin.descriptor.write_batch!(instance, events, count)
                switch status {
                case SENSOR_OK:
                    consecutiveErrors = 0
                    metrics.delivered.increment(by: Int64(count))
                    return
                case SENSOR_RETRY:
                    metrics.retries.increment()
                    let delay = backoff / 2 + UInt64.random(in: 0...(backoff / 2))
                    backoff = min(backoff > UInt64.max / 2 ? .max : backoff * 2, configuration.retryMax.nanoseconds)
                    logger.debug("write_batch asked to retry", metadata: ["delay_ms": "\(delay / 1_000_000)"])
                    guard waitForRetry(until: SinkClock.monotonicNanoseconds() + delay) else {
                        logger.warning("drain deadline reached while retrying; dropped \(count) events")
                        return drop(count)
                    }
                case SENSOR_FATAL:
                    drop(count)
                    return disable(reason: "write_batch returned SENSOR_FATAL")
                default:
                    metrics.errors.increment()
                    consecutiveErrors += 1
                    drop(count)
                    logError(status: status, events: count)
                    let limit = configuration.disableAfterErrors
                    if limit > 0 && consecutiveErrors >= limit {
                        disable(reason: "\(consecutiveErrors) consecutive write_batch errors")
                    }
                    return
                }
            }
        }
    }

    /// Logs a failed batch: the first few in a row individually, then at most one line a second.
    private func logError(status: Int32, events: Int) {
        let now = SinkClock.monotonicNanoseconds()
        if consecutiveErrors > 3, let last = lastErrorLog, now - last < 1_000_000_000 {
            unloggedErrors += 1
            return
        }
        logger.error(
            "write_batch failed; dropped the batch",
            metadata: [
                "status": "\(status)", "events": "\(events)", "consecutive_errors": "\(consecutiveErrors)",
                "disable_after_errors": "\(configuration.disableAfterErrors)", "unlogged_failures": "\(unloggedErrors)",
            ]
        )
        lastErrorLog = now
        unloggedErrors = 0
    }

    /// Waits for a retry; `false` if the drain deadline would pass first.
    private func waitForRetry(until wakeAt: UInt64) -> Bool {
        while SinkClock.monotonicNanoseconds() < wakeAt {
            if drainDeadlinePassed(at: wakeAt) { return false }
            queue.pause(untilMonotonicNanoseconds: wakeAt)
        }
        return true
    }

    private func drainDeadlinePassed(at time: UInt64) -> Bool {
        let deadline = drainDeadline.load(ordering: .acquiring)
        return deadline != 0 && time > deadline
    }

    private func disable(reason: String) {
        isDisabled = true
        isDisabledForReports.store(true, ordering: .relaxed)
        let discarded = queue.disable()
        drop(discarded)
        metrics.disabled.record(1)
        logger.critical(
            """
            SINK DISABLED: \(reason). It receives no more events; they are counted as dropped. Other sinks \
            keep running. Fix the cause and restart the sensor.
            """,
            metadata: ["discarded_events": "\(discarded)"]
        )
    }

    private func flush() {
        guard let flush = plugin.descriptor.flush else { return }
        let now = SinkClock.monotonicNanoseconds()
        let deadline = drainDeadline.load(ordering: .acquiring)
        let remainingMicroseconds = deadline > now ? Int64((deadline - now) / 1000) : 0
        let status = flush(instance, SinkClock.unixMicroseconds() + remainingMicroseconds)
        if status != SENSOR_OK {
            logger.error("flush failed", metadata: ["status": "\(status)"])
        }
    }
}
