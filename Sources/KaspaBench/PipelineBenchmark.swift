import Foundation
import Logging
import MetricsTestKit
import SensorEvents
import TestSupport

/// Figure 3: events per second through the real pipeline (``SinkDispatcher`` in this process, the plugin
/// libraries loaded with dlopen, optionally the write-ahead journal) into one sink, with no drops. The publisher
/// keeps at most `maxInFlight` events ahead of the sink's delivered count, so the figure is the sustained rate
/// of the sink, not the size of its queue.
struct PipelineBenchmark {
    /// The sink under test.
    enum Sink {
        /// SQLiteSink into a fresh database.
        case sqlite
        /// HTTPExport to the given local receiver.
        case http(EventCountingReceiver)
        /// JSONLinesSink into /dev/null: the host side's own ceiling (queue, marshalling, journal).
        case discard
        /// PostgresSink into a fresh database of the given server.
        case postgres(PostgresServer)
    }

    /// What a run measured.
    struct Measurement {
        /// Events per second from the first publish until the last event was stored (SQLite) or received (HTTP).
        var rate: Double
        /// Events counted as dropped by the dispatcher.
        var dropped: Int64
        /// Events that arrived.
        var arrived: Int
    }

    /// Events to publish.
    var events: Int
    /// The most events published and not yet delivered to the plugin.
    var maxInFlight = 50_000

    /// Runs one configuration.
    func run(sink: Sink, journal: Bool) async throws -> Measurement {
        if case .postgres(let server) = sink {
            setenv("KASPA_BENCH_PG_PASSWORD", server.password, 1)
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kaspa-bench-pipeline-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "kaspa-bench")
        logger.logLevel = .error
        let plugins = try PluginsFile(
            parsing: Self.pluginsFile(sink),
            file: directory.appendingPathComponent("plugins.toml").path,
            directory: directory.path
        )
        let metrics = TestMetrics()
        let dispatcher = try await SinkDispatcher(
            pluginsFile: plugins,
            configuration: .init(
                sensorID: "bench",
                drainTimeout: .seconds(120),
                journal: journal
                    ? try EventJournal(
                        configuration: .init(directory: directory.appendingPathComponent("journal").path),
                        logger: logger)
                    : nil
            ),
            logger: logger,
            metricsFactory: metrics
        )
        let delivered = { metrics.counters(label: SinkMetricNames.delivered).reduce(0) { $0 + Int($1.totalValue) } }
        let arrived: () -> Int
        switch sink {
        case .sqlite, .discard, .postgres: arrived = delivered
        case .http(let receiver):
            let before = receiver.events
            arrived = { receiver.events - before }
        }
        let samples = SampleEvents()
        let start = ContinuousClock.now
        var deliveredSoFar = 0
        for index in 0..<events {
            if index % 1000 == 0 {
                deliveredSoFar = delivered()
                while index - deliveredSoFar > maxInFlight {
                    try await Task.sleep(for: .milliseconds(1))
                    deliveredSoFar = delivered()
                }
            }
            dispatcher.publish(samples.event(index))
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while arrived() < events && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let count = arrived()
        await dispatcher.shutdown()
        let dropped = metrics.counters(label: SinkMetricNames.dropped).reduce(0) { $0 + $1.totalValue }
        return Measurement(rate: Double(count) / elapsed, dropped: dropped, arrived: count)
    }

    /// plugins.toml with the one sink under test.
    private static func pluginsFile(_ sink: Sink) -> String {
        switch sink {
        case .sqlite:
            return SinkEntry.sqlite.toml
        case .discard:
            return SinkEntry(name: "discard", library: "libJSONLinesSink.so", config: [("path", "\"/dev/null\"")]).toml
        case .postgres(let server):
            return SinkEntry(
                name: "postgres", library: "libPostgresSink.so",
                config: [("url", "\"\(server.url)\""), ("password_env", "\"KASPA_BENCH_PG_PASSWORD\"")],
                // The batch size the README recommends for PostgresSink (a commit per batch costs a WAL flush);
                // KASPA_BENCH_PG_BATCH measures another.
                batchMax: Int(ProcessInfo.processInfo.environment["KASPA_BENCH_PG_BATCH"] ?? "") ?? 2000
            ).toml
        case .http(let receiver):
            return SinkEntry(
                name: "http", library: "libHTTPExport.so",
                config: [("endpoint", "\"\(receiver.endpoint)\""), ("batch_interval_ms", "20")]
            ).toml
        }
    }
}
