import Foundation
import TestSupport
import Testing

@Suite("/health names a sink whose write_batch runs past write_deadline_ms (real sensor, in process)")
struct SinkHealthTests {
    /// Asks `path` of the metrics server until `done` holds for the answer (or 30 s have passed); returns the last.
    private static func poll(
        _ sensor: SensorHarness, _ path: String, until done: (Int, String) -> Bool
    ) async throws -> (status: Int, body: String) {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let answer = try await sensor.get(path)
            if done(answer.status, answer.body) || ContinuousClock.now >= deadline { return answer }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("A hung write_batch makes /health answer 503 naming the sink; a call in time makes it 200 again")
    func overdueSinkIsDegraded() async throws {
        let directory = try ExternalPlugin.makeTemporaryDirectory()
        defer { ExternalPlugin.remove(directory) }
        let library = try MisbehavingSink.compile(in: directory)
        let release = (directory as NSString).appendingPathComponent("release")
        let plugins = """
            [[sink]]
            name = "hanging"
            library = "\(library)"
            flush_interval_ms = 20
            write_deadline_ms = 200
            [sink.config]
            path = "\((directory as NSString).appendingPathComponent("delivered.txt"))"
            release = "\(release)"
            """
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]], plugins: plugins) { sensor in
            #expect(try await sensor.get("/health").status == 200)
            try await HandshakingPeer.connect("/first/", to: sensor.p2p)
            let degraded = try await Self.poll(sensor, "/health") { status, _ in status == 503 }
            #expect(degraded.status == 503)
            #expect(degraded.body.contains("\"status\":\"degraded\""))
            #expect(degraded.body.contains("sink hanging: write_batch ran past its write_deadline_ms"))
            let gauge = "sensor_sink_write_overdue{sink=\"hanging\"} 1"
            #expect(try await Self.poll(sensor, "/metrics") { _, body in body.contains(gauge) }.body.contains(gauge))

            // The hung call returns late; the next call, in time, makes the sink healthy again.
            _ = FileManager.default.createFile(atPath: release, contents: nil)
            try await HandshakingPeer.connect("/second/", to: sensor.p2p)
            #expect(try await Self.poll(sensor, "/health") { status, _ in status == 200 }.status == 200)
        }
    }
}
