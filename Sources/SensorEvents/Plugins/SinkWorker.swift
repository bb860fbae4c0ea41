import Foundation
import Logging
import Metrics
import SensorPluginAPI
import Synchronization

/// One sink instance and the dedicated OS thread that makes every call to it: `create`, `write_batch`, `flush`
/// and `destroy` all run on that thread, never on the Swift cooperative pool or a NIO event loop.
///
/// The worker is the sink's delivery engine (ABI 1.2: the host owns durability): it reads what the sink has not
/// finished back from the journal, retries with backoff or the plugin's `retry_after`, writes refused events to
/// the sink's dead-letter file, and opens the circuit breaker (see SinkWorker+Delivery.swift).
///
/// Thread safety: `queue`, `metrics`, `logger`, the one-shot results and `drainDeadline` are safe to use from
/// any thread; `instance`, `marshaller`, the dead-letter file and the delivery state are touched only by the
/// worker thread (after `start()` has spawned it), which is why the class is `@unchecked Sendable`.
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
    let bridge: HostAPIBridge
    private let created = OneShot<Int32>()
    /// True once the circuit breaker has opened (readable from any thread, for health reports).
    let isDisabledForReports = Atomic<Bool>(false)
    /// When queued events stop being delivered (shutdown); unset while running.
    let drainDeadline = DrainDeadline()
    /// The journal and this sink's place in it, when the dispatcher keeps one.
    let journal: (journal: EventJournal, cursor: JournalCursor)?
    /// Where refused events go; `nil`: they are only logged and counted as dropped.
    let deadLetters: DeadLetterFile?
    /// Whether `write_batch` runs past `write_deadline_ms` (read by the dispatcher's watchdog and health reports).
    let writeWatch: WriteDeadlineWatch

    // Worker thread only.
    var instance: UnsafeMutableRawPointer?
    let marshaller: EventBatchMarshaller
    var consecutiveErrors = 0
    var isDisabled = false
    var errorLog = LogLimiter(interval: 1_000_000_000, unlimited: 3)
    var refusalLog = LogLimiter(interval: 10_000_000_000, unlimited: 3)
    var deadLetterFailureLog = LogLimiter(interval: 10_000_000_000, unlimited: 3)
    var markerFailureLog = LogLimiter(interval: 10_000_000_000, unlimited: 3)
    /// The batch in flight, so that a crash inside `write_batch` is found at the next start (journal only).
    let inFlight: InFlightMarker?
    /// The batch the previous process died on, and how often; a marker for a batch starting at the same sequence
    /// carries the count.
    var crashedBatch: InFlightMarker.Batch?
    var reader: JournalReader?
    /// The first sequence this sink has not finished (journal only).
    private var nextSequence: UInt64 = 0

    /// Prepares a worker; nothing runs until ``start(createTimeout:)``. Refused events go to a file in
    /// `deadLetterDirectory` (at most `deadLetterMaxBytes`), when one is given.
    init(
        configuration: SinkConfiguration,
        plugin: LoadedPlugin,
        sensorID: String,
        logger: Logger,
        metricsFactory: any MetricsFactory,
        journal: (journal: EventJournal, cursor: JournalCursor)? = nil,
        deadLetterDirectory: String? = nil,
        deadLetterMaxBytes: Int64 = SinkDispatcher.Configuration.defaultDeadLetterMaxBytes
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
        self.deadLetters = deadLetterDirectory.map {
            DeadLetterFile(
                path: ($0 as NSString).appendingPathComponent("\(configuration.name).jsonl"),
                sinkName: configuration.name, maxBytes: deadLetterMaxBytes)
        }
        self.marshaller = EventBatchMarshaller()
        self.writeWatch = WriteDeadlineWatch(
            deadline: configuration.writeDeadline, sinkName: configuration.name, factory: metricsFactory,
            logger: logger)
        self.inFlight = journal.flatMap { journal in
            do {
                return try InFlightMarker(
                    directory: journal.journal.configuration.directory, sinkName: configuration.name)
            } catch {
                logger.error("\(error); a crash inside write_batch will not be noticed at the next start")
                return nil
            }
        }
        self.bridge = HostAPIBridge(
            sinkName: configuration.name,
            sensorID: sensorID,
            logger: logger,
            factory: metricsFactory,
            marshaller: marshaller,
            drainDeadline: drainDeadline
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
        drainDeadline.set(monotonicNanoseconds: deadline)
        queue.close()
    }

    /// Reports that this sink's cursor was found ahead of the journal's end (`journalEnd`): the journal's numbering
    /// was raised above the cursor, so the sink skips no new event.
    func reportCursorAhead(of journalEnd: UInt64, cursor: UInt64) {
        metrics.cursorAhead.increment()
        logger.warning(
            """
            journal cursor (\(cursor)) is ahead of the journal's end (\(journalEnd)): the sequence high-water mark \
            was lost with the segments, or the cursor file comes from elsewhere; numbering resumes above the cursor \
            so that this sink skips no new event
            """)
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
            recoverFromCrash()
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
        while nextSequence < end && !isDisabled && !drainDeadline.hasPassed(at: SinkClock.monotonicNanoseconds()) {
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
    func finished(through sequence: UInt64) {
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

    private func flush() {
        guard let flush = plugin.descriptor.flush else { return }
        let remaining = drainDeadline.remainingNanoseconds(at: SinkClock.monotonicNanoseconds()) ?? 0
        let status = flush(instance, SinkClock.unixMicroseconds() + Int64(remaining / 1000))
        if status != SENSOR_OK {
            logger.error("flush failed", metadata: ["status": "\(status)"])
        }
    }
}
