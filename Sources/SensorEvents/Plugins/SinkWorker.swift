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
    /// The journal and this sink's place in it, when the dispatcher keeps one.
    private let journal: (journal: EventJournal, cursor: JournalCursor)?

    // Worker thread only.
    private var instance: UnsafeMutableRawPointer?
    private let marshaller: EventBatchMarshaller
    private var consecutiveErrors = 0
    private var isDisabled = false
    private var lastErrorLog: UInt64?
    private var unloggedErrors = 0
    private var reader: JournalReader?
    /// The first sequence this sink has not finished (journal only).
    private var nextSequence: UInt64 = 0

    /// Prepares a worker; nothing runs until ``start(createTimeout:)``.
    init(
        configuration: SinkConfiguration,
        plugin: LoadedPlugin,
        sensorID: String,
        logger: Logger,
        metricsFactory: any MetricsFactory,
        journal: (journal: EventJournal, cursor: JournalCursor)? = nil
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
        self.journal = journal
        self.marshaller = EventBatchMarshaller()
        self.bridge = HostAPIBridge(
            sinkName: configuration.name,
            sensorID: sensorID,
            logger: logger,
            factory: metricsFactory,
            marshaller: marshaller
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
        // The backlog is what was journaled before this sink started: events are published only once every
        // sink's create() has returned, and those go through the queue.
        let backlogEnd = journal.map { $0.journal.lastSequence + 1 }
        created.fulfil(status)
        guard status == SENSOR_OK else {
            finished.fulfil(false)
            return
        }
        if let journal, let backlogEnd {
            reader = JournalReader(journal: journal.journal)
            nextSequence = journal.cursor.position + 1
            if backlogEnd > nextSequence {
                logger.info(
                    "replaying \(backlogEnd - nextSequence) journaled events this sink had not received before the last stop"
                )
            }
            catchUp(before: backlogEnd)
        }
        var batch: [QueuedEvent] = []
        batch.reserveCapacity(configuration.batchMax)
        while queue.take(into: &batch) {
            process(batch)
            batch.removeAll(keepingCapacity: true)
            if let journal {
                // Events refused by the full queue after the last one taken are still only in the journal.
                catchUp(before: min(queue.lastRefusedSequence, journal.journal.lastSequence) + 1)
            }
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

    /// Delivers `batch` in chunks of at most `batch_max` (journal: of consecutive sequences, reading any gap back
    /// from the journal first, and skipping events already delivered from it).
    private func process(_ batch: [QueuedEvent]) {
        var start = batch.startIndex
        while start < batch.endIndex {
            var end = min(start + configuration.batchMax, batch.endIndex)
            if journal != nil {
                let first = batch[start].sequence
                guard first >= nextSequence else {
                    metrics.queueDepth.record(queue.finish(1))
                    start += 1
                    continue
                }
                if first > nextSequence {
                    catchUp(before: first)
                }
                var last = start + 1
                while last < end && batch[last].sequence == batch[last - 1].sequence + 1 {
                    last += 1
                }
                end = last
            }
            deliverOrDrop(batch[start..<end])
            metrics.queueDepth.record(queue.finish(end - start))
            start = end
        }
    }

    /// Delivers the journaled events from ``nextSequence`` up to (not including) `before`: the backlog after a
    /// restart, and events the full queue refused. Stops early when the drain deadline passes (they stay in the
    /// journal for the next start) or the sink is disabled.
    private func catchUp(before end: UInt64) {
        guard let reader else { return }
        while nextSequence < end && !isDisabled && !drainDeadlinePassed(at: SinkClock.monotonicNanoseconds()) {
            let chunk = reader.read(from: nextSequence, before: end, maxEvents: configuration.batchMax)
            if chunk.missing > 0 {
                drop(chunk.missing)
                logger.error(
                    "\(chunk.missing) events were no longer in the journal (size limit, write error or corruption)")
            }
            metrics.replayed.increment(by: Int64(chunk.events.count))
            if let last = chunk.events.last {
                deliverOrDrop(chunk.events[...])
                // Not delivered (drain deadline, or the sink was just disabled): the cursor stays before these
                // events, so they are sent after the next start.
                guard nextSequence == last.sequence + 1 else { return }
            }
            // Missing events after the last one read were counted above.
            finished(through: chunk.next - 1)
        }
    }

    private func deliverOrDrop(_ chunk: ArraySlice<QueuedEvent>) {
        if isDisabled {
            drop(chunk.count)
        } else {
            deliver(chunk)
        }
    }

    /// Records that every event up to `sequence` is finished for this sink (delivered, or refused for good).
    private func finished(through sequence: UInt64) {
        guard let journal, sequence >= nextSequence else { return }
        nextSequence = sequence + 1
        do {
            try journal.cursor.advance(to: sequence)
        } catch {
            logger.error("\(error); after a restart some events are delivered to this sink again")
        }
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
        marshaller.withMarshalledBatch(chunk, includeJSON: !plugin.wantsJSONOnRequest) { events, count in
            var backoff = configuration.retryInitial.nanoseconds
            while true {
                if drainDeadlinePassed(at: SinkClock.monotonicNanoseconds()) {
                    logger.warning("drain deadline passed; dropped \(count) events\(keptNote)")
                    return drop(count)
                }
                let status = plugin.descriptor.write_batch!(instance, events, count)
                // JSON the plugin asked for lives until write_batch returns.
                marshaller.releaseRequestedJSON()
                switch status {
                case SENSOR_OK:
                    consecutiveErrors = 0
                    metrics.delivered.increment(by: Int64(count))
                    return finished(through: chunk[chunk.endIndex - 1].sequence)
                case SENSOR_RETRY:
                    metrics.retries.increment()
                    let delay = backoff / 2 + UInt64.random(in: 0...(backoff / 2))
                    backoff = min(backoff > UInt64.max / 2 ? .max : backoff * 2, configuration.retryMax.nanoseconds)
                    logger.debug("write_batch asked to retry", metadata: ["delay_ms": "\(delay / 1_000_000)"])
                    guard waitForRetry(until: SinkClock.monotonicNanoseconds() + delay) else {
                        logger.warning("drain deadline reached while retrying; dropped \(count) events\(keptNote)")
                        return drop(count)
                    }
                case SENSOR_FATAL:
                    drop(count)
                    return disable(reason: "write_batch returned SENSOR_FATAL")
                default:
                    metrics.errors.increment()
                    consecutiveErrors += 1
                    drop(count)
                    finished(through: chunk[chunk.endIndex - 1].sequence)
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

    /// How a drop at the drain deadline is qualified: with a journal, the events are sent after the next start.
    private var keptNote: String {
        journal == nil ? "" : " (kept in the journal; this sink gets them after the next start)"
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
