import Foundation
import SensorEvents
import TestSupport
import Testing

/// ABI 1.2: the host owns retries, waits and dead letters for every sink; a plugin only answers and says why.
@Suite("The host's durability for sinks: retry_after, reject_event, stop_deadline, the needs-journal flag")
struct HostDurabilityTests {
    typealias Harness = SinkDispatcherTests.Harness

    @Test("retry_after replaces the host's backoff for that retry (here 300 ms against a backoff of at most 4 ms)")
    func retryAfterIsHonoured() async throws {
        let harness = try Harness()
        try await harness.run([harness.sink("paced", mode: "retry_after") { $0.batchMax = 100 }], events: 300)
        #expect(harness.pluginCounter("events", "paced") == 300)
        let retries = harness.pluginCounter("retry_requested", "paced")
        #expect(retries >= 3 && harness.pluginCounter("same_batch_redelivered", "paced") == retries)
        let gaps = try harness.metrics.expectGauge(
            SinkMetricNames.pluginGauge, [("sink", "paced"), ("name", "retry_gap_ms")]
        ).values
        #expect(gaps.count == Int(retries))
        #expect(gaps.allSatisfy { $0 >= 300 }, "gaps between a retry_after(300) and the retry: \(gaps)")
        #expect(harness.counter(SinkMetricNames.retries, "paced") == retries)
    }

    @Test("Events refused one by one with reject_event go to the dead-letter file; the rest of the batch is delivered")
    func refusedEventsAreDeadLettered() async throws {
        let harness = try Harness()
        try await harness.run([harness.sink("picky", mode: "reject_odd") { $0.batchMax = 64 }], events: 200)
        #expect(harness.counter(SinkMetricNames.delivered, "picky") == 100)
        #expect(harness.counter(SinkMetricNames.deadLettered, "picky") == 100)
        #expect(harness.counter(SinkMetricNames.errors, "picky") == 0)
        #expect(harness.counter(SinkMetricNames.dropped, "picky") == 0)
        let letters = try harness.deadLetters("picky")
        #expect(try harness.deadLetterIndices("picky") == Array(stride(from: 1, to: 200, by: 2)))
        #expect(letters.allSatisfy { $0["code"] as? Int == 422 && $0["reason"] as? String == "odd index" })
        // Each line carries the whole event as the host's JSON, and its sequence.
        let first = try #require(letters.first)
        #expect((first["event"] as? [String: Any])?["label"] as? String == "event-1")
        #expect(first["sequence"] as? Int == 2)
        #expect(!harness.logs.records(containing: "events for good; dead-lettered them", sink: "picky").isEmpty)
    }

    @Test("A refusal holds for its batch across RETRYs: the plugin need not repeat it, nothing is written twice")
    func refusalsSurviveRetries() async throws {
        let harness = try Harness()
        try await harness.run(
            [
                harness.sink("resumes", mode: "reject_then_retry") { $0.batchMax = 50 }
            ], events: 150)
        #expect(harness.pluginCounter("retry_requested", "resumes") >= 3)
        #expect(try harness.deadLetterIndices("resumes") == Array(stride(from: 1, to: 150, by: 2)))
        #expect(harness.counter(SinkMetricNames.deadLettered, "resumes") == 75)
        #expect(harness.counter(SinkMetricNames.delivered, "resumes") == 75)
    }

    @Test("An ERROR batch is dead-lettered with the reason and code given by reject_event(NULL, ...)")
    func errorBatchReason() async throws {
        let harness = try Harness()
        try await harness.run(
            [
                harness.sink("down", mode: "error_reason") {
                    $0.batchMax = 10
                    $0.disableAfterErrors = 0
                }
            ], events: 25)
        let letters = try harness.deadLetters("down")
        #expect(try harness.deadLetterIndices("down") == Array(0..<25))
        #expect(
            letters.allSatisfy {
                $0["code"] as? Int == 503 && $0["reason"] as? String == "the service refused the batch"
            }
        )
        #expect(harness.counter(SinkMetricNames.errors, "down") >= 3)
        #expect(harness.counter(SinkMetricNames.deadLettered, "down") == 25)
        #expect(harness.gauge(SinkMetricNames.disabled, "down") == 0)
    }

    @Test("retry_after and reject_event outside write_batch (from create and flush) are ignored")
    func strayCallsAreIgnored() async throws {
        let harness = try Harness()
        try await harness.run([harness.sink("stray", mode: "stray_calls")], events: 100)
        #expect(harness.counter(SinkMetricNames.delivered, "stray") == 100)
        #expect(harness.counter(SinkMetricNames.deadLettered, "stray") == 0)
        #expect(try harness.deadLetters("stray").isEmpty)
    }

    @Test("stop_deadline tells a write_batch blocked at shutdown when to give up; the batch stays in the journal")
    func stopDeadlineEndsABlockedBatch() async throws {
        let harness = try Harness()
        let journal = try EventJournal(
            configuration: .init(directory: harness.directory.appendingPathComponent("journal").path),
            logger: harness.logs.logger)
        let dispatcher = try await harness.start(
            [harness.sink("blocked", mode: "block_until_stop")], journal: journal, drainTimeout: .milliseconds(200))
        for index in 0..<20 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        await dispatcher.shutdown()
        #expect(harness.pluginCounter("stop_deadline_seen", "blocked") >= 1)
        #expect(harness.logs.records(containing: "did not stop", sink: "blocked").isEmpty)
        #expect(!harness.logs.records(containing: "kept in the journal", sink: "blocked").isEmpty)
        #expect(harness.counter(SinkMetricNames.delivered, "blocked") == 0)
    }

    @Test("A plugin that sets SENSOR_PLUGIN_NEEDS_JOURNAL does not start without the journal, naming [plugins] journal")
    func needsJournalFlag() async throws {
        let harness = try Harness(defines: ["NEEDS_JOURNAL"])
        let required = harness.sink("durable", mode: "ok")
        let error = try await #require(throws: PluginLoadError.self) { try await harness.start([required]) }
        #expect(error.code == .journalRequired)
        #expect(error.description.contains("sink \"durable\" (\(harness.library))"))
        #expect(error.message.contains("[plugins] journal = true"))

        let optional = harness.sink("durable", mode: "ok") { $0.isRequired = false }
        let skipped = try await harness.start([optional])
        #expect(skipped.sinkNames.isEmpty)
        #expect(!harness.logs.records(containing: "optional sink skipped", sink: "durable").isEmpty)
        await skipped.shutdown()

        let journal = try EventJournal(
            configuration: .init(directory: harness.directory.appendingPathComponent("journal").path),
            logger: harness.logs.logger)
        let running = try await harness.start([required], journal: journal)
        running.publish(TestEvents.numbered(0))
        await running.shutdown()
        #expect(harness.pluginCounter("events", "durable") == 1)
    }

    /// Plugins built for earlier minors (the descriptor says 1.0 or 1.1); the second sets the bit that is
    /// `SENSOR_PLUGIN_NEEDS_JOURNAL` in 1.2, which a 1.1 plugin cannot mean.
    static let olderPlugins: [(defines: [String], minor: UInt16)] = [
        (["PLUGIN_ABI_MINOR=0"], 0), (["PLUGIN_ABI_MINOR=1", "NEEDS_JOURNAL"], 1),
    ]

    @Test("Plugins built for ABI 1.0 and 1.1 load and run on this 1.2 host", arguments: olderPlugins)
    func olderPluginsRun(defines: [String], minor: UInt16) async throws {
        let harness = try Harness(defines: defines)
        let plugin = try PluginLoader().load(path: harness.library, sinkName: "old")
        #expect(plugin.abiVersion.major == 1 && plugin.abiVersion.minor == minor)
        #expect(!plugin.needsJournal)
        try await harness.run([harness.sink("old", mode: "ok")], events: 500)
        #expect(harness.pluginCounter("events", "old") == 500)
        #expect(harness.pluginCounter("bad_events", "old") == 0)
        #expect(harness.counter(SinkMetricNames.delivered, "old") == 500)
        let started = try #require(harness.logs.records(containing: "sink started", sink: "old").first)
        #expect(started.metadata["abi"] == "1.\(minor)")
    }
}
