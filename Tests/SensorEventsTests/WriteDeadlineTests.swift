import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("write_deadline_ms: a write_batch past its deadline marks the sink unhealthy until a call returns in time")
struct WriteDeadlineTests {
    typealias Harness = SinkDispatcherTests.Harness

    @Test("A hung write_batch is reported while it hangs (gauge, counter, log, health); other sinks stay healthy")
    func hungCallIsReported() async throws {
        let harness = try Harness()
        let dispatcher = try await harness.start([
            harness.sink("slow", mode: "gate") { $0.writeDeadline = .milliseconds(300) },
            harness.sink("fast", mode: "ok") { $0.writeDeadline = .milliseconds(300) },
        ])
        dispatcher.publish(TestEvents.numbered(0))
        #expect(try await eventually { dispatcher.overdueSinkNames == ["slow"] })
        #expect(try await eventually { harness.gauge(SinkMetricNames.writeOverdue, "slow") == 1 })
        #expect(harness.counter(SinkMetricNames.writeOverdueCalls, "slow") == 1)
        #expect(!harness.logs.records(containing: "has been running for", sink: "slow").isEmpty)
        #expect(harness.gauge(SinkMetricNames.writeOverdue, "fast") == 0)

        // The hung call returns, late: the sink stays unhealthy until a call returns in time.
        try harness.openGate()
        #expect(try await eventually { harness.pluginCounter("events", "slow") == 1 })
        #expect(dispatcher.overdueSinkNames == ["slow"])
        dispatcher.publish(TestEvents.numbered(1))
        #expect(try await eventually { dispatcher.overdueSinkNames.isEmpty })
        #expect(try await eventually { harness.gauge(SinkMetricNames.writeOverdue, "slow") == 0 })
        #expect(!harness.logs.records(containing: "the sink is healthy", sink: "slow").isEmpty)
        // Counted once, although the watchdog saw it many times and it also returned late.
        #expect(harness.counter(SinkMetricNames.writeOverdueCalls, "slow") == 1)
        await dispatcher.shutdown()
        #expect(harness.pluginCounter("events", "slow") == 2)
    }

    @Test("write_deadline_ms and dead_letter_after_crashes are read from plugins.toml, with their defaults")
    func keysAreParsed() throws {
        let text = """
            [[sink]]
            name = "a"
            library = "liba.so"
            write_deadline_ms = 1500
            dead_letter_after_crashes = 0
            [[sink]]
            name = "b"
            library = "libb.so"
            """
        let file = try PluginsFile(parsing: text, file: "plugins.toml", directory: "/etc/sensor")
        #expect(file.sinks[0].writeDeadline == .milliseconds(1500))
        #expect(file.sinks[0].deadLetterAfterCrashes == 0)
        #expect(file.sinks[1].writeDeadline == .seconds(60))
        #expect(file.sinks[1].deadLetterAfterCrashes == 3)
        let bad = text.replacingOccurrences(of: "= 1500", with: "= 0")
        let error = #expect(throws: ConfigurationError.self) {
            try PluginsFile(parsing: bad, file: "plugins.toml", directory: "/etc/sensor")
        }
        #expect(error?.key == "sink[0].write_deadline_ms")
    }
}
