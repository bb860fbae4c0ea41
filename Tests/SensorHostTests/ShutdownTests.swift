import Foundation
import TestSupport
import Testing

/// The sensor, not its peers, decides when a connection ends: SIGTERM ends the real sensor within its grace period
/// whatever its peers do, and a connection without a stream does not stay open.
@Suite("Connection ends (real kaspa-sensor, hostile HTTP/2 peers)")
struct ShutdownTests {
    /// A sensor in `directory` with an SQLite sink and a `version_timeout_ms` of `versionTimeout`.
    static func writeConfiguration(in directory: URL, versionTimeout: Int) throws -> String {
        var files = SensorConfigurationFiles(
            sensorID: "shutdown-test", sinkLibrary: "libSQLiteSink.so",
            sinkConfig: ["path": "\"\(directory.appendingPathComponent("events.db").path)\""])
        files.set("handshake", "version_timeout_ms", "\(versionTimeout)")
        return try files.write(in: directory)
    }

    @Test("A connection is closed once it has had no stream for version_timeout_ms: before its first, after its last")
    func idleConnectionsClosed() async throws {
        let directory = try BuiltPlugins.makeScratchDirectory(prefix: "idle-connections")
        let sensor = try await SensorProcess(
            configuration: Self.writeConfiguration(in: directory, versionTimeout: 1000))
        let target = sensor.p2p.description
        let ended = try await PythonListener(
            ["h2-hold", "--target", target, "--mode", "ended"], readyEvent: "stream_ended_by_server")
        let none = try await PythonListener(["h2-hold", "--target", target, "--mode", "none"], readyEvent: "settings")
        // Neither peer ever closes; the sensor does, a second after the stream ended or the connection opened.
        #expect(try await !ended.events(named: "closed", limit: .seconds(20)).isEmpty)
        #expect(try await !none.events(named: "closed", limit: .seconds(20)).isEmpty)
        try await sensor.stop(with: SIGTERM, limit: .seconds(30))
    }

    @Test(
        "SIGTERM ends the process in time though peers ignore GOAWAY: one keeps its stream open, one its connection"
    )
    func sigtermWithHeldConnections() async throws {
        let directory = try BuiltPlugins.makeScratchDirectory(prefix: "shutdown")
        let sensor = try await SensorProcess(
            configuration: Self.writeConfiguration(in: directory, versionTimeout: 60000))
        let target = sensor.p2p.description
        // Mid-handshake, its side of the stream never ends; and one whose stream is over but which keeps the
        // connection.
        let open = try await PythonListener(
            ["h2-hold", "--target", target, "--mode", "open"], readyEvent: "stream_open")
        let ended = try await PythonListener(
            ["h2-hold", "--target", target, "--mode", "ended"], readyEvent: "stream_ended_by_server")

        let started = ContinuousClock.now
        // The grace period is 5 s; the limit leaves room for a loaded machine, not for a hang.
        try await sensor.stop(with: SIGTERM, limit: .seconds(30))
        let took = ContinuousClock.now - started
        #expect(took < .seconds(30), "SIGTERM took \(took)")
        #expect(sensor.output.contains { $0.contains("stopping P2P listeners") })
        // The sensor, not the peers, ended both connections.
        #expect(try await !open.events(named: "closed", limit: .seconds(10)).isEmpty)
        #expect(try await !ended.events(named: "closed", limit: .seconds(10)).isEmpty)
    }
}
