import Foundation
import KaspaP2P
import TestSupport

/// The real `kaspa-sensor` release binary as a child process, with a generated `sensor.toml` and `plugins.toml`
/// in a scratch folder: listening on 127.0.0.1, probing off, metrics off, an SQLite sink (and optionally a slow
/// one). Its resident memory is read from `/proc/<pid>/status`.
final class SensorProcess {
    /// What the sensor is started with.
    struct Options {
        /// `close` or `stay`.
        var sessionMode = "close"
        /// `[network] max_inbound`.
        var maxInbound = 1024
        /// `[plugins] journal`.
        var journal = true
        /// An extra HTTPExport sink pointed at this URL, which never answers (the deliberately slow sink).
        var slowSinkEndpoint: String?
        /// The sink every event goes to.
        var sink = SinkEntry.sqlite
        /// Extra `[limits]` lines (the per-source limits apply to loopback only when they say so).
        var limits: [String] = []
    }

    /// Where it listens.
    let address: PeerAddress
    private let process: Process
    /// The scratch folder (configuration, database, journal).
    let directory: URL

    /// Starts the sensor next to this executable and waits until it accepts connections.
    init(options: Options) async throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kaspa-bench-sensor-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        address = RawListener.closedPort()
        try Self.configuration(options, address: address)
            .write(to: directory.appendingPathComponent("sensor.toml"), atomically: true, encoding: .utf8)
        try Self.plugins(options)
            .write(to: directory.appendingPathComponent("plugins.toml"), atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = Self.executable
        process.arguments = ["--config", directory.appendingPathComponent("sensor.toml").path]
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/stderr")
        try process.run()
        try await ChildProcesses.waitUntilListening(address, process: process)
    }

    /// The sensor binary: `KASPA_SENSOR_BINARY`, else `kaspa-sensor` next to this executable.
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["KASPA_SENSOR_BINARY"] {
            return URL(fileURLWithPath: path)
        }
        return ChildProcesses.ownExecutable.deletingLastPathComponent()
            .appendingPathComponent("kaspa-sensor")
    }

    /// The process id.
    var pid: Int32 { process.processIdentifier }

    /// Resident memory now, in bytes (`VmRSS`).
    var residentBytes: Int { ChildProcesses.residentBytes(of: pid) }

    /// Stops the sensor (SIGTERM, then SIGKILL after 10 s) and removes its folder.
    func stop() async {
        await ChildProcesses.terminate(process)
        try? FileManager.default.removeItem(at: directory)
    }

    private static func configuration(_ options: Options, address: PeerAddress) -> String {
        """
        [sensor]
        sensor_id = "bench"
        log_level = "error"
        [network]
        listen_address = "\(address)"
        max_inbound = \(options.maxInbound)
        [session]
        mode = "\(options.sessionMode)"
        [probing]
        enabled = false
        [metrics]
        enabled = false
        [plugins]
        file = "plugins.toml"
        journal = \(options.journal)
        journal_dir = "journal"
        [database]
        addressdb_path = "addresses.db"
        [limits]
        \(options.limits.joined(separator: "\n"))

        """
    }

    private static func plugins(_ options: Options) -> String {
        var sinks = [options.sink]
        if let endpoint = options.slowSinkEndpoint {
            sinks.append(
                SinkEntry(
                    name: "slow", library: "libHTTPExport.so",
                    config: [
                        ("endpoint", "\"\(endpoint)\""), ("request_timeout_ms", "3600000"),
                    ]))
        }
        return sinks.map(\.toml).joined()
    }
}
