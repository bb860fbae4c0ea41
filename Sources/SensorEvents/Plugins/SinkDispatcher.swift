public import Logging
public import Metrics
import SensorPluginAPI
public import ServiceLifecycle
import Synchronization

/// Delivers every published ``SensorEvent`` to every enabled sink plugin instance, each on its own OS thread with
/// its own bounded queue, batching, retry backoff (or the plugin's `retry_after`), dead-letter file and circuit
/// breaker: with the journal, the one durability layer every sink gets for free.
///
/// Creating the dispatcher loads the libraries and creates the instances (on their threads), so a required sink
/// that cannot start fails startup before any producer runs. Events can be published as soon as `init` returns.
/// As a `Service`, ``run()`` waits for graceful shutdown (or cancellation) and then calls ``shutdown()``; list it
/// first in the `ServiceGroup` so it stops last, after the producers.
public final class SinkDispatcher: Service, Sendable {
    /// Host-level settings of the dispatcher (per-sink settings live in ``SinkConfiguration``).
    public struct Configuration: Sendable {
        /// The sensor id handed to plugins in `sensor_host_api.sensor_id`.
        public var sensorID: String
        /// How long shutdown may spend delivering queued events; what is left then is dropped (and counted).
        public var drainTimeout: Duration
        /// How long each plugin's `create()` may take at startup.
        public var createTimeout: Duration
        /// How long shutdown waits, after the drain deadline, for a sink stuck inside a plugin call before it
        /// gives up on that sink's thread.
        public var stuckSinkGrace: Duration
        /// Where bare library names are looked up first (the running executable's folder by default).
        public var executableDirectory: String?
        /// The write-ahead journal that makes delivery survive queue overflow, crashes and restarts (see
        /// ``EventJournal``); `nil` keeps events in memory only, and sinks that need it do not start.
        public var journal: EventJournal?
        /// The folder of the dead-letter files, `<sink name>.jsonl` each: events the plugins refused for good.
        /// `nil`: refused events are only logged and counted as dropped.
        public var deadLetterDirectory: String?
        /// The most bytes one sink's dead-letter file may hold; refused events beyond it are dropped (logged).
        public var deadLetterMaxBytes: Int64

        /// The default ``deadLetterMaxBytes``: 1 GiB.
        public static let defaultDeadLetterMaxBytes: Int64 = 1 << 30

        /// Creates a configuration with the defaults: 10 s drain, 30 s create, 5 s grace, no journal, no
        /// dead-letter files.
        public init(
            sensorID: String,
            drainTimeout: Duration = .seconds(10),
            createTimeout: Duration = .seconds(30),
            stuckSinkGrace: Duration = .seconds(5),
            executableDirectory: String? = PluginLoader.executableDirectory(),
            journal: EventJournal? = nil,
            deadLetterDirectory: String? = nil,
            deadLetterMaxBytes: Int64 = Configuration.defaultDeadLetterMaxBytes
        ) {
            self.journal = journal
            self.deadLetterDirectory = deadLetterDirectory
            self.deadLetterMaxBytes = deadLetterMaxBytes
            self.sensorID = sensorID
            self.drainTimeout = drainTimeout
            self.createTimeout = createTimeout
            self.stuckSinkGrace = stuckSinkGrace
            self.executableDirectory = executableDirectory
        }
    }

    private struct State {
        var lastSequence: UInt64 = 0
        var isAccepting = true
        var warnedAboutLatePublish = false
        var shutdownTask: Task<Void, Never>?
        var watchdog: Task<Void, Never>?
    }

    /// The running sink instances, in configuration order.
    let workers: [SinkWorker]
    private let state: Mutex<State>
    private let journal: EventJournal?
    private let logger: Logger
    private let configuration: Configuration

    /// Loads and starts the enabled sinks of `sinks`. A required sink that cannot be loaded or created throws
    /// (after stopping the sinks already started); an optional one is logged and skipped.
    public init(
        sinks: [SinkConfiguration],
        configuration: Configuration,
        logger: Logger,
        metricsFactory: any MetricsFactory,
        loader: PluginLoader = PluginLoader()
    ) async throws(PluginLoadError) {
        var workers: [SinkWorker] = []
        let journal = configuration.journal
        journal?.removeCursors(except: Set(sinks.filter(\.isEnabled).map(\.name)))
        for sink in sinks where sink.isEnabled {
            do throws(PluginLoadError) {
                let plugin = try loader.load(sink, executableDirectory: configuration.executableDirectory)
                if plugin.needsJournal && journal == nil {
                    throw PluginLoadError(
                        code: .journalRequired, sinkName: sink.name, path: plugin.path,
                        message: "the plugin keeps no events of its own and relies on the host's journal for "
                            + "durability (SENSOR_PLUGIN_NEEDS_JOURNAL), but the journal is off: set "
                            + "[plugins] journal = true in sensor.toml, or disable this sink")
                }
                let opened = try journal.map { journal throws(PluginLoadError) in
                    (journal: journal, cursor: try Self.openCursor(of: sink, path: plugin.path, in: journal))
                }
                let worker = SinkWorker(
                    configuration: sink,
                    plugin: plugin,
                    sensorID: configuration.sensorID,
                    logger: logger,
                    metricsFactory: metricsFactory,
                    journal: opened.map { (journal: $0.journal, cursor: $0.cursor.cursor) },
                    deadLetterDirectory: configuration.deadLetterDirectory,
                    deadLetterMaxBytes: configuration.deadLetterMaxBytes
                )
                if let opened, let end = opened.cursor.journalEndBeforeRaise {
                    worker.reportCursorAhead(of: end, cursor: opened.cursor.cursor.position)
                }
                try await Self.create(worker, timeout: configuration.createTimeout)
                worker.logger.info(
                    "sink started",
                    metadata: [
                        "plugin": "\(plugin.name)", "plugin_version": "\(plugin.version)",
                        "library": "\(plugin.path)", "built_with": "\(plugin.builtWith)",
                        "abi": "\(plugin.abiVersion.major).\(plugin.abiVersion.minor)",
                    ]
                )
                workers.append(worker)
            } catch {
                guard sink.isRequired else {
                    logger.warning("optional sink skipped: \(error)", metadata: ["sink": "\(sink.name)"])
                    continue
                }
                logger.error("required sink failed to start: \(error)", metadata: ["sink": "\(sink.name)"])
                await Self.stop(workers, configuration: configuration, logger: logger)
                throw error
            }
        }
        journal?.trim()
        self.workers = workers
        self.journal = journal
        self.state = Mutex(
            State(
                lastSequence: journal?.lastSequence ?? 0,
                watchdog: SinkWatchdog.start(watching: workers.map(\.writeWatch))))
        self.logger = logger
        self.configuration = configuration
    }

    private static func openCursor(
        of sink: SinkConfiguration, path: String, in journal: EventJournal
    ) throws(PluginLoadError) -> EventJournal.OpenedCursor {
        do {
            return try journal.openCursorCheckingPosition(sinkName: sink.name)
        } catch {
            throw PluginLoadError(
                code: .createFailed, sinkName: sink.name, path: path,
                message: "cannot open its journal cursor: \(error)")
        }
    }

    /// Loads and starts the enabled sinks of a parsed `plugins.toml`.
    public convenience init(
        pluginsFile: PluginsFile,
        configuration: Configuration,
        logger: Logger,
        metricsFactory: any MetricsFactory,
        loader: PluginLoader = PluginLoader()
    ) async throws(PluginLoadError) {
        try await self.init(
            sinks: pluginsFile.sinks,
            configuration: configuration,
            logger: logger,
            metricsFactory: metricsFactory,
            loader: loader
        )
    }

    /// The names of the running sink instances, in configuration order.
    public var sinkNames: [String] { workers.map(\.configuration.name) }

    /// Hands `event` to every sink without ever blocking: appends it to the journal (if any), then each sink's
    /// queue either takes it or, when full, refuses it: with a journal the sink reads it back from there later,
    /// without one it is dropped (counted in `sensor_sink_dropped_total`). Full queues are logged at most once a
    /// second per sink. Assigns the event's `sequence`, which every sink sees strictly increasing. After shutdown
    /// has begun, events are dropped.
    public func publish(_ event: SensorEvent) {
        // What the journal can hold, so that live delivery and replay see the same event.
        let event = JournalRecord.bounded(event)
        var reports: [(SinkWorker, Int)]?
        let accepted = state.withLock { state -> Bool in
            guard state.isAccepting else { return false }
            state.lastSequence += 1
            journal?.append(event, sequence: state.lastSequence)
            let queued = QueuedEvent(event: event, sequence: state.lastSequence)
            for worker in workers {
                switch worker.queue.offer(queued) {
                case .accepted:
                    break
                case .full(let report):
                    if journal == nil {
                        worker.drop(1)
                    }
                    if let report {
                        reports = (reports ?? []) + [(worker, report)]
                    }
                case .closed:
                    worker.drop(1)
                }
            }
            return true
        }
        for (worker, count) in reports ?? [] {
            let fate = journal == nil ? "dropped" : "left in the journal (the sink reads them back when it catches up)"
            worker.logger.warning(
                "sink queue full: \(fate) \(count) events since the last report",
                metadata: ["queue_capacity": "\(worker.queue.capacity)"]
            )
        }
        if !accepted {
            rejectLatePublish()
        }
    }

    /// Waits for graceful shutdown (or cancellation), then drains, flushes and destroys every sink.
    public func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            logger.debug("sink dispatcher cancelled; shutting down sinks")
        }
        await shutdown()
    }

    /// Stops accepting events, delivers everything queued (until the drain deadline), then flushes and destroys
    /// every instance and waits for their threads. Safe to call more than once and from a cancelled task.
    public func shutdown() async {
        let task = state.withLock { state -> Task<Void, Never> in
            if let task = state.shutdownTask { return task }
            state.isAccepting = false
            let watchdog = state.watchdog
            let task = Task { [workers, configuration, logger] in
                await Self.stop(workers, configuration: configuration, logger: logger)
                // Kept until the sinks have stopped: a call hanging in the drain is still reported.
                watchdog?.cancel()
            }
            state.shutdownTask = task
            return task
        }
        await task.value
    }

    deinit {
        state.withLock { $0.watchdog?.cancel() }
    }

    private func rejectLatePublish() {
        for worker in workers {
            worker.drop(1)
        }
        let first = state.withLock { state in
            defer { state.warnedAboutLatePublish = true }
            return !state.warnedAboutLatePublish
        }
        if first {
            logger.warning("event published after sink shutdown began; dropped (further ones are only counted)")
        }
    }

    private static func create(_ worker: SinkWorker, timeout: Duration) async throws(PluginLoadError) {
        let sink = worker.configuration.name
        let path = worker.plugin.path
        switch await worker.start(createTimeout: timeout) {
        case SENSOR_OK:
            return
        case nil:
            // If create() ever returns, the worker finds its queue closed and destroys the instance right away.
            worker.close(deadline: SinkClock.monotonicNanoseconds())
            throw PluginLoadError(
                code: .createFailed,
                sinkName: sink,
                path: path,
                message: "create() did not return within \(timeout); the sink is stuck and was abandoned"
            )
        case SENSOR_BAD_CONFIG:
            throw PluginLoadError(
                code: .badConfig,
                sinkName: sink,
                path: path,
                message: "create() rejected the [sink.config] table (SENSOR_BAD_CONFIG); the plugin's log lines "
                    + "above say why"
            )
        case let status?:
            throw PluginLoadError(
                code: .createFailed,
                sinkName: sink,
                path: path,
                message: "create() failed with status \(status); the plugin's log lines above say why"
            )
        }
    }

    private static func stop(_ workers: [SinkWorker], configuration: Configuration, logger: Logger) async {
        let deadline = SinkClock.monotonicNanoseconds() + configuration.drainTimeout.nanoseconds
        for worker in workers {
            worker.close(deadline: deadline)
        }
        for worker in workers {
            let now = SinkClock.monotonicNanoseconds()
            let remaining = Duration.nanoseconds(Int64(clamping: deadline > now ? deadline - now : 0))
            if await worker.finished.wait(timeout: remaining + configuration.stuckSinkGrace) == nil {
                worker.logger.error(
                    "sink did not stop within the drain timeout; abandoning its thread",
                    metadata: ["queued_events": "\(worker.queue.depth)"]
                )
            }
        }
        logger.debug("sink dispatcher stopped", metadata: ["sinks": "\(workers.count)"])
    }
}
