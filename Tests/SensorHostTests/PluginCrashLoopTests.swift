import Foundation
import TestSupport
import Testing

@Suite("A plugin that kills the process in write_batch: found at restart, its batch set aside (real kaspa-sensor)")
struct PluginCrashLoopTests {
    /// A crash must end the child at once, not in Swift's backtracer.
    private static let environment = ["SWIFT_BACKTRACE": "enable=no"]

    @Test(
        """
        A sink that aborts on one event takes the sensor down three times; the fourth start dead-letters that \
        batch, and the sink goes on with new events
        """)
    func crashLoopEnds() async throws {
        let directory = try BuiltPlugins.makeScratchDirectory(prefix: "plugin-crash-loop")
        let library = try MisbehavingSink.compile(in: directory.path)
        let delivered = directory.appendingPathComponent("delivered.txt")
        var files = SensorConfigurationFiles(
            sensorID: "crash-loop", sinkLibrary: library, sinkConfig: ["path": "\"\(delivered.path)\""])
        files.set("session", "linger_ms", "0")
        files.set("session", "address_wait_ms", "200")
        files.set("plugins", "dead_letter_dir", "\"dead-letters\"")
        files.sinkHost = ["batch_max": "20", "flush_interval_ms": "20"]
        let configuration = try files.write(in: directory)
        let agents: @Sendable () -> [String] = { MisbehavingSink.delivered(at: delivered.path) }

        let first = try await SensorProcess(configuration: configuration, environment: Self.environment)
        try await HandshakingPeer.connect("/ok-before/", to: first.p2p)
        #expect(try await eventually { agents().contains("/ok-before/") })
        // The sensor may die before the peer has finished; only the event matters.
        try? await HandshakingPeer.connect("/abort-me/", to: first.p2p)
        #expect(try await first.exited().status == SIGABRT)

        // Each start replays the batch and dies in write_batch again, until the third death is counted.
        for crash in 1...2 {
            let run = try await CommandProcess.kaspaSensor(["run", "-c", configuration], environment: Self.environment)
                .finished(limit: .seconds(60))
            #expect(run.status == SIGABRT)
            #expect(run.errors.contains("(crash \(crash) on the batch of events"), "\(run.errors.suffix(2000))")
        }
        let last = try await SensorProcess(configuration: configuration, environment: Self.environment)
        #expect(try await eventually { last.output.contains { $0.contains("(crash 3 on the batch of events") } })
        #expect(last.output.contains { $0.contains("setting the batch aside in the dead-letter file") })
        try await HandshakingPeer.connect("/ok-after/", to: last.p2p)
        #expect(try await eventually { agents().contains("/ok-after/") })
        try await last.stop(with: SIGTERM)

        #expect(!agents().contains("/abort-me/"))
        let letters = try ExternalPlugin.jsonLines(
            at: directory.appendingPathComponent("dead-letters/sink.jsonl").path)
        let setAside = letters.compactMap { ($0["event"] as? [String: Any])?["user_agent"] as? String }
        #expect(setAside.contains("/abort-me/"))
        #expect(letters.allSatisfy { ($0["reason"] as? String)?.contains("died 3 times") == true })
    }
}
