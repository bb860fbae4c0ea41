import Foundation
import KaspaP2P
import Synchronization
import TestSupport

/// The real `kaspa-sensor` executable run as a child process (for what needs a separate process: kill -9).
///
/// Standard output and error are read on a dedicated thread (``OutputLines``); waiting polls, never blocking a
/// cooperative-pool thread on the child.
final class SensorProcess: Sendable {
    private let process: Process
    private let lines: OutputLines
    /// Where the sensor accepts Kaspa peers.
    let p2p: PeerAddress

    /// Runs `kaspa-sensor run -c <configuration>` and waits until it logs its P2P listening address.
    init(configuration: String, limit: Duration = .seconds(30)) async throws {
        let executable = (BuiltPlugins.directory as NSString).appendingPathComponent("kaspa-sensor")
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestFailure("\(executable) is missing; build with `swift build --build-tests` first")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["run", "-c", configuration]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        self.process = process
        let sink = OutputLines(reading: output.fileHandleForReading)
        lines = sink
        let deadline = ContinuousClock.now + limit
        var address: PeerAddress?
        while address == nil {
            address = sink.lines.withLock { lines in
                lines.lazy.filter { $0.contains("accepting Kaspa peers") }.compactMap(Self.listeningAddress).first
            }
            guard address == nil else { break }
            guard process.isRunning, ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                let log = sink.lines.withLock { $0.joined(separator: "\n") }
                throw TestFailure("kaspa-sensor did not start listening:\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        p2p = address!
    }

    /// Everything the sensor printed so far.
    var output: [String] { lines.lines.withLock { $0 } }

    /// Sends `signal` and waits (polling) until the process has exited.
    func stop(with signal: Int32 = SIGKILL, limit: Duration = .seconds(15)) async throws {
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw TestFailure("kaspa-sensor did not exit after \(signal)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }

    /// The `address=IP:PORT` metadata of a log line.
    private static func listeningAddress(_ line: String) -> PeerAddress? {
        guard let range = line.range(of: "address=") else { return nil }
        let text = line[range.upperBound...].prefix { !$0.isWhitespace }
        return PeerAddress(String(text))
    }
}
