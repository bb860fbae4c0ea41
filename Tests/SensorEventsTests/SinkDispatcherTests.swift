import Foundation
import MetricsTestKit
import SensorEvents
import ServiceLifecycle
import TestSupport
import Testing

@Suite("Sink dispatcher with C test sinks")
struct SinkDispatcherTests {
    /// A dispatcher over freshly compiled copies of the configurable C sink (one library file per test, so the
    /// plugin's global gate is not shared between tests running in parallel), with a dead-letter folder.
    struct Harness {
        /// The compiled test sink.
        let library: String
        /// The scratch folder (the library, the dead letters).
        let directory: URL
        /// Metrics of the dispatcher (host and plugin-reported).
        let metrics = TestMetrics()
        /// Logs of the dispatcher and the plugin.
        let logs = LogCapture()

        /// The folder of the dead-letter files.
        var deadLetterDirectory: URL { directory.appendingPathComponent("dead-letters") }

        /// Compiles the configurable C sink with `defines` into a fresh folder.
        init(defines: [String] = []) throws {
            directory = try TestEnvironment.makeTemporaryDirectory()
            library = try CPluginCompiler.compile(
                TestSinkSources.configurable, name: "test-sink", defines: defines, in: directory)
        }

        /// A sink entry in `mode` with fast timers, adjusted by `configure`.
        func sink(_ name: String, mode: String, _ configure: (inout SinkConfiguration) -> Void = { _ in })
            -> SinkConfiguration
        {
            var sink = SinkConfiguration(
                name: name,
                library: library,
                flushInterval: .milliseconds(2),
                retryInitial: .milliseconds(1),
                retryMax: .milliseconds(4),
                config: ["mode": .string(mode)]
            )
            configure(&sink)
            return sink
        }

        /// Starts a dispatcher over `sinks`, journaling into `journal` if given.
        func start(
            _ sinks: [SinkConfiguration], journal: EventJournal? = nil, drainTimeout: Duration = .seconds(10)
        ) async throws -> SinkDispatcher {
            try await SinkDispatcher(
                sinks: sinks,
                configuration: .init(
                    sensorID: TestEvents.sensorID, drainTimeout: drainTimeout, journal: journal,
                    deadLetterDirectory: deadLetterDirectory.path),
                logger: logs.logger,
                metricsFactory: metrics
            )
        }

        /// Starts a dispatcher over `sinks`, publishes `count` numbered events and shuts it down (every sink
        /// drained, flushed and destroyed).
        func run(_ sinks: [SinkConfiguration], events count: Int, journal: EventJournal? = nil) async throws {
            let dispatcher = try await start(sinks, journal: journal)
            for index in 0..<count {
                dispatcher.publish(TestEvents.numbered(index))
            }
            await dispatcher.shutdown()
        }

        /// A host counter of `sink`.
        func counter(_ label: String, _ sink: String) -> Int64 {
            metrics.counterTotal(label: label, dimensions: [("sink", sink)])
        }

        /// A counter the plugin reported through `host->add_counter`.
        func pluginCounter(_ name: String, _ sink: String) -> Int64 {
            metrics.counterTotal(label: SinkMetricNames.pluginCounter, dimensions: [("sink", sink), ("name", name)])
        }

        /// The last value of a host gauge of `sink`.
        func gauge(_ label: String, _ sink: String) -> Double? {
            try? metrics.expectGauge(label, [("sink", sink)]).lastValue
        }

        /// The lines of `sink`'s dead-letter file, each a JSON object.
        func deadLetters(_ sink: String) throws -> [[String: Any]] {
            let file = deadLetterDirectory.appendingPathComponent("\(sink).jsonl")
            guard FileManager.default.fileExists(atPath: file.path) else { return [] }
            return try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }

        /// The `index` field of the event of each dead letter of `sink`.
        func deadLetterIndices(_ sink: String) throws -> [Int] {
            try deadLetters(sink).compactMap { ($0["event"] as? [String: Any])?["index"] as? Int }
        }

        /// Releases every `gate`-mode write_batch of this library.
        func openGate() throws {
            let handle = try #require(dlopen(library, RTLD_NOW | RTLD_NOLOAD))
            let symbol = try #require(dlsym(handle, "test_sink_open_gate"))
            unsafeBitCast(symbol, to: (@convention(c) () -> Void).self)()
        }
    }

    @Test("Every event reaches the sink intact, in sequence order, and shutdown flushes and destroys")
    func deliversEverything() async throws {
        let harness = try Harness()
        let dispatcher = try await harness.start([harness.sink("main", mode: "ok") { $0.batchMax = 64 }])
        for index in 0..<5000 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        await dispatcher.shutdown()
        #expect(harness.pluginCounter("events", "main") == 5000)
        #expect(harness.pluginCounter("bad_events", "main") == 0)
        #expect(harness.pluginCounter("out_of_order", "main") == 0)
        #expect(harness.pluginCounter("flushes", "main") == 1)
        #expect(harness.pluginCounter("destroyed", "main") == 1)
        #expect(harness.counter(SinkMetricNames.delivered, "main") == 5000)
        #expect(harness.counter(SinkMetricNames.dropped, "main") == 0)
        #expect(harness.gauge(SinkMetricNames.queueDepth, "main") == 0)
        let lastBatch = try harness.metrics.expectGauge(
            SinkMetricNames.pluginGauge,
            [("sink", "main"), ("name", "last_batch_size")]
        )
        #expect((lastBatch.lastValue ?? 0) >= 1 && (lastBatch.lastValue ?? 0) <= 64)
        #expect(!harness.logs.records(containing: "test sink: created", sink: "main").isEmpty)
    }

    @Test("Events still queued at shutdown are delivered before destroy")
    func shutdownDrainsQueue() async throws {
        let harness = try Harness()
        // Nothing is due before shutdown: the batch is not full and the flush interval is an hour away.
        let dispatcher = try await harness.start([
            harness.sink("drain", mode: "ok") {
                $0.batchMax = 10_000
                $0.flushInterval = .seconds(3600)
            }
        ])
        for index in 0..<3000 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        #expect(harness.pluginCounter("events", "drain") == 0)
        await dispatcher.shutdown()
        #expect(harness.pluginCounter("events", "drain") == 3000)
        #expect(harness.pluginCounter("flushes", "drain") == 1)
        #expect(harness.pluginCounter("destroyed", "drain") == 1)
        dispatcher.publish(TestEvents.numbered(3000))
        #expect(harness.counter(SinkMetricNames.dropped, "drain") == 1)
    }

    @Test("A blocked sink never blocks publish, drops what does not fit, and does not slow other sinks")
    func blockedSinkIsIsolated() async throws {
        let harness = try Harness()
        let dispatcher = try await harness.start([
            harness.sink("blocked", mode: "gate") {
                $0.queueCapacity = 100
                $0.batchMax = 10
            },
            harness.sink("fast", mode: "ok") { $0.queueCapacity = 20_000 },
        ])
        // The gate is closed: had publish waited for the blocked sink, this loop would never finish.
        for index in 0..<10_000 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        #expect(try await eventually { harness.pluginCounter("events", "fast") == 10_000 })
        #expect(harness.pluginCounter("events", "blocked") == 0)
        #expect(harness.counter(SinkMetricNames.dropped, "blocked") == 9_900)
        #expect(harness.counter(SinkMetricNames.dropped, "fast") == 0)
        let warnings = harness.logs.records(containing: "sink queue full", sink: "blocked")
        #expect(!warnings.isEmpty && warnings.count <= 3)  // rate limited: at most one a second
        try harness.openGate()
        await dispatcher.shutdown()
        #expect(harness.pluginCounter("events", "blocked") == 100)
        #expect(harness.counter(SinkMetricNames.delivered, "blocked") == 100)
        #expect(harness.pluginCounter("bad_events", "blocked") == 0)
    }

    @Test("A RETRY answer makes the host redeliver the very same batch")
    func retryRedeliversSameBatch() async throws {
        let harness = try Harness()
        let dispatcher = try await harness.start([harness.sink("flaky", mode: "retry") { $0.batchMax = 100 }])
        for index in 0..<1000 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        await dispatcher.shutdown()
        let retries = harness.pluginCounter("retry_requested", "flaky")
        #expect(retries >= 10)
        #expect(harness.pluginCounter("same_batch_redelivered", "flaky") == retries)
        #expect(harness.pluginCounter("batches", "flaky") == retries)
        #expect(harness.counter(SinkMetricNames.retries, "flaky") == retries)
        #expect(harness.pluginCounter("events", "flaky") == 1000)
        #expect(harness.pluginCounter("out_of_order", "flaky") == 0)
        #expect(harness.counter(SinkMetricNames.dropped, "flaky") == 0)
    }

    @Test("A FATAL sink is disabled; the others keep receiving everything")
    func fatalSinkIsDisabled() async throws {
        let harness = try Harness()
        let dispatcher = try await harness.start([
            harness.sink("doomed", mode: "fatal") { $0.batchMax = 10 },
            harness.sink("healthy", mode: "ok"),
        ])
        for index in 0..<1000 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        #expect(try await eventually { harness.gauge(SinkMetricNames.disabled, "doomed") == 1 })
        for index in 1000..<1010 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        await dispatcher.shutdown()
        let delivered = harness.counter(SinkMetricNames.delivered, "doomed")
        #expect(delivered == harness.pluginCounter("events", "doomed"))
        #expect(delivered + harness.counter(SinkMetricNames.dropped, "doomed") == 1010)
        #expect(harness.pluginCounter("destroyed", "doomed") == 1)
        #expect(harness.pluginCounter("flushes", "doomed") == 0)
        #expect(!harness.logs.records(containing: "SINK DISABLED", sink: "doomed").isEmpty)
        #expect(harness.pluginCounter("events", "healthy") == 1010)
        #expect(harness.gauge(SinkMetricNames.disabled, "healthy") == 0)
    }

    @Test(
        "Consecutive errors (or unknown statuses) dead-letter their batches and trip the circuit breaker",
        arguments: [("error", "write_batch returned SENSOR_ERROR"), ("status42", "write_batch returned status 42")])
    func circuitBreaker(mode: String, reason: String) async throws {
        let harness = try Harness()
        let dispatcher = try await harness.start([
            harness.sink("broken", mode: mode) {
                $0.batchMax = 10
                $0.disableAfterErrors = 3
            }
        ])
        for index in 0..<500 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        await dispatcher.shutdown()
        #expect(harness.counter(SinkMetricNames.errors, "broken") == 3)
        #expect(harness.gauge(SinkMetricNames.disabled, "broken") == 1)
        // The three refused batches (at most 10 events each) are dead-lettered, the rest dropped by the open
        // circuit breaker.
        let deadLettered = harness.counter(SinkMetricNames.deadLettered, "broken")
        #expect(deadLettered >= 3 && deadLettered <= 30)
        #expect(harness.counter(SinkMetricNames.dropped, "broken") == 500 - deadLettered)
        #expect(harness.counter(SinkMetricNames.delivered, "broken") == 0)
        #expect(harness.logs.records(containing: "write_batch failed", sink: "broken").count == 3)
        let letters = try harness.deadLetters("broken")
        #expect(try harness.deadLetterIndices("broken") == Array(0..<Int(deadLettered)))
        #expect(letters.allSatisfy { $0["reason"] as? String == reason && $0["code"] as? Int == 0 })
        #expect(letters.allSatisfy { $0["sink"] as? String == "broken" && $0["dead_lettered_at"] is String })
    }

    @Test("As a Service in a ServiceGroup, graceful shutdown drains the sinks")
    func runsAsService() async throws {
        let harness = try Harness()
        let dispatcher = try await harness.start([
            harness.sink("service", mode: "ok") { $0.flushInterval = .seconds(3600) }
        ])
        let group = ServiceGroup(services: [dispatcher], logger: harness.logs.logger)
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            for index in 0..<2000 {
                dispatcher.publish(TestEvents.numbered(index))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(harness.pluginCounter("events", "service") == 2000)
        #expect(harness.pluginCounter("destroyed", "service") == 1)
    }
}
