import Foundation
import SensorEvents
import TestSupport
import Testing

/// What a process that died inside `write_batch` leaves, laid out by hand: the batch in the journal, the sink's
/// cursor before it and the in-flight marker (`SensorHostTests/PluginCrashLoopTests` kills a real sensor instead).
@Suite("In-flight marker: a process that died in write_batch is counted at start; repeated deaths set the batch aside")
struct CrashMarkerTests {
    typealias Harness = SinkDispatcherTests.Harness

    /// Journals 30 events that sink "main" has not received, and a marker for its batch 1...10 with `crashes`.
    private func layOut(_ directory: URL, crashes: UInt64) async throws {
        let harness = try Harness()
        let journal = try EventJournal(configuration: .init(directory: directory.path), logger: harness.logs.logger)
        let held = harness.sink("main", mode: "ok") {
            $0.batchMax = 10_000
            $0.flushInterval = .seconds(3600)
        }
        // Nothing is due before shutdown and the drain deadline has passed at once: the events stay behind.
        let dispatcher = try await harness.start([held], journal: journal, drainTimeout: .zero)
        for index in 0..<30 {
            dispatcher.publish(TestEvents.numbered(index))
        }
        await dispatcher.shutdown()
        let (first, last): (UInt64, UInt64) = (1, 10)
        var words = [first, last, crashes, first ^ last ^ ~crashes].map(\.littleEndian)
        try Data(bytes: &words, count: 32).write(to: directory.appendingPathComponent("inflight-main"))
    }

    @Test(
        "Below dead_letter_after_crashes the batch is retried; at it, the batch is dead-lettered and the sink goes on",
        arguments: [(earlierCrashes: UInt64(1), setAside: false), (earlierCrashes: UInt64(2), setAside: true)])
    func crashIsCounted(earlierCrashes: UInt64, setAside: Bool) async throws {
        let directory = try TestEnvironment.makeTemporaryDirectory()
        try await layOut(directory, crashes: earlierCrashes)

        let harness = try Harness()
        let journal = try EventJournal(configuration: .init(directory: directory.path), logger: harness.logs.logger)
        try await harness.run([harness.sink("main", mode: "ok") { $0.batchMax = 10 }], events: 0, journal: journal)
        #expect(harness.counter(SinkMetricNames.crashes, "main") == 1)
        let crash = "crash \(earlierCrashes + 1) on the batch of events 1...10"
        #expect(!harness.logs.records(containing: crash, sink: "main").isEmpty)
        if setAside {
            #expect(try harness.deadLetterIndices("main") == Array(0..<10))
            let reason = try harness.deadLetters("main").first?["reason"] as? String
            #expect(reason?.contains("died 3 times inside write_batch") == true)
            #expect(harness.pluginCounter("events", "main") == 20)
            #expect(harness.counter(SinkMetricNames.deadLettered, "main") == 10)
        } else {
            #expect(try harness.deadLetters("main").isEmpty)
            #expect(harness.pluginCounter("events", "main") == 30)
        }
        // Cleared after the calls: a clean stop leaves no marker to count.
        let marker = try Data(contentsOf: directory.appendingPathComponent("inflight-main"))
        #expect(marker.allSatisfy { $0 == 0 })
    }
}
