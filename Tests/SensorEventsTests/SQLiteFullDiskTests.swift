import Foundation
import MetricsTestKit
import SensorEvents
import TestSupport
import Testing

/// A real SQLite database on a real full file system: a 2 MiB tmpfs the test mounts (root only) and fills.
@Suite("SQLite sink on a full file system: RETRY keeps the batch in the journal; once space returns it lands once")
struct SQLiteFullDiskTests {
    /// Writes `file` until the file system refuses another byte.
    private func fill(_ file: URL) throws {
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        for size in [65_536, 4096, 512, 1] {
            let chunk = [UInt8](repeating: 0x5a, count: size)
            while write(descriptor, chunk, size) > 0 {}
        }
        try #require(errno == ENOSPC, "filling stopped for another reason: \(errno)")
    }

    @Test(
        "SQLITE_FULL answers RETRY, never ERROR; after space returns every event is stored exactly once",
        .enabled(if: geteuid() == 0, "mounts a tmpfs, which needs root"))
    func fullDiskIsRetried() async throws {
        let scratch = try TestEnvironment.makeTemporaryDirectory()
        let volume = scratch.appendingPathComponent("volume")
        try FileManager.default.createDirectory(at: volume, withIntermediateDirectories: true)
        try ExternalTool.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", volume.path])
        defer { _ = try? ExternalTool.run(["umount", "-l", volume.path]) }
        let metrics = TestMetrics()
        let logs = LogCapture()
        let journal = try EventJournal(
            configuration: .init(directory: scratch.appendingPathComponent("journal").path), logger: logs.logger)
        let sink = SinkConfiguration(
            name: "sqlite", library: try TestEnvironment.sqliteSinkLibrary(), batchMax: 50,
            flushInterval: .milliseconds(20), retryInitial: .milliseconds(20), retryMax: .milliseconds(100),
            // One ERROR would open the circuit breaker: the test would see it.
            disableAfterErrors: 1,
            config: ["path": .string(volume.appendingPathComponent("events.db").path)])
        let deadLetters = scratch.appendingPathComponent("dead-letters")
        let dispatcher = try await SinkDispatcher(
            sinks: [sink],
            configuration: .init(sensorID: "sensor-sqlite", journal: journal, deadLetterDirectory: deadLetters.path),
            logger: logs.logger, metricsFactory: metrics)
        let counter: @Sendable (String) -> Int64 = { metrics.counterTotal(label: $0, dimensions: [("sink", "sqlite")]) }

        let filler = volume.appendingPathComponent("filler")
        try fill(filler)
        let events = (0..<400).map { ConnectionEvents.connection($0) }
        events.forEach(dispatcher.publish)
        #expect(try await eventually { counter(SinkMetricNames.retries) >= 3 })
        #expect(!logs.records(containing: "disk is full; the host retries it", sink: "sqlite").isEmpty)
        #expect(counter(SinkMetricNames.errors) == 0)
        #expect(counter(SinkMetricNames.deadLettered) == 0)
        #expect(dispatcher.disabledSinkNames.isEmpty)

        try FileManager.default.removeItem(at: filler)
        #expect(try await eventually { counter(SinkMetricNames.delivered) == 400 })
        await dispatcher.shutdown()
        #expect(counter(SinkMetricNames.dropped) == 0)
        #expect(!FileManager.default.fileExists(atPath: deadLetters.appendingPathComponent("sqlite.jsonl").path))
        let reader = try SQLiteReader(path: volume.appendingPathComponent("events.db").path)
        let rows = try reader.rows("SELECT event_id, sequence FROM connection_events")
        #expect(rows.count == 400)
        #expect(Set(rows.compactMap { $0["event_id"] as? String }) == Set(events.map(\.id)))
        #expect(Set(rows.compactMap { $0["sequence"] as? Int64 }) == Set(1...400))
    }
}
