import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("Sink dispatcher with an event journal")
struct JournalDispatcherTests {
    private func openJournal(_ directory: URL, _ harness: SinkDispatcherTests.Harness) throws -> EventJournal {
        try EventJournal(configuration: .init(directory: directory.path), logger: harness.logs.logger)
    }

    @Test("A blocked sink's overflow is read back from the journal: it gets every event, in order, none dropped")
    func overflowIsReplayed() async throws {
        let harness = try SinkDispatcherTests.Harness()
        let journal = try openJournal(try TestEnvironment.makeTemporaryDirectory(), harness)
        let dispatcher = try await harness.start(
            [
                harness.sink("blocked", mode: "gate") {
                    $0.queueCapacity = 100
                    $0.batchMax = 10
                },
                harness.sink("fast", mode: "ok") { $0.queueCapacity = 20_000 },
            ], journal: journal)
        for index in 0..<10_000 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        #expect(try await eventually { harness.pluginCounter("events", "fast") == 10_000 })
        #expect(harness.pluginCounter("events", "blocked") == 0)
        #expect(!harness.logs.records(containing: "left in the journal", sink: "blocked").isEmpty)
        try harness.openGate()
        #expect(try await eventually { harness.pluginCounter("events", "blocked") == 10_000 })
        await dispatcher.shutdown()
        #expect(harness.pluginCounter("bad_events", "blocked") == 0)
        #expect(harness.pluginCounter("out_of_order", "blocked") == 0)
        #expect(harness.counter(SinkMetricNames.dropped, "blocked") == 0)
        #expect(harness.counter(SinkMetricNames.delivered, "blocked") == 10_000)
        #expect(harness.counter(SinkMetricNames.replayed, "blocked") >= 9_900)
        #expect(harness.counter(SinkMetricNames.replayed, "fast") == 0)
    }

    @Test("Events a sink had not received when the sensor stopped are delivered after the restart, once")
    func backlogIsReplayedAfterRestart() async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        let first = try SinkDispatcherTests.Harness()
        let held: (SinkDispatcherTests.Harness) -> SinkConfiguration = { harness in
            harness.sink("main", mode: "ok") {
                $0.batchMax = 10_000
                $0.flushInterval = .seconds(3600)
            }
        }
        do {
            // Nothing is due before shutdown and the drain deadline has passed at once: the events stay behind.
            let dispatcher = try await first.start(
                [held(first)], journal: try openJournal(directory, first), drainTimeout: .zero)
            for index in 0..<3000 {
                dispatcher.publish(TestEvents.numbered(index))
            }
            await dispatcher.shutdown()
        }
        #expect(first.pluginCounter("events", "main") == 0)
        #expect(!first.logs.records(containing: "kept in the journal", sink: "main").isEmpty)

        let second = try SinkDispatcherTests.Harness()
        let dispatcher = try await second.start(
            [second.sink("main", mode: "ok") { $0.batchMax = 500 }, second.sink("added", mode: "ok")],
            journal: try openJournal(directory, second))
        #expect(try await eventually { second.pluginCounter("events", "main") == 3000 })
        #expect(!second.logs.records(containing: "replaying 3000 journaled events", sink: "main").isEmpty)
        dispatcher.publish(TestEvents.numbered(3000))
        await dispatcher.shutdown()
        #expect(second.pluginCounter("events", "main") == 3001)
        #expect(second.pluginCounter("out_of_order", "main") == 0)
        #expect(second.pluginCounter("bad_events", "main") == 0)
        // A sink added to the list starts with new events, not the history.
        #expect(second.pluginCounter("events", "added") == 1)
    }
}
