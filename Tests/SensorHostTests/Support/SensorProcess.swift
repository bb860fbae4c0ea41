import Foundation
import KaspaP2P
import TestSupport

/// The real `kaspa-sensor` executable run as a child process (for what needs a separate process: kill -9), on top
/// of ``CommandProcess``: it also waits for the sensor to listen and knows where.
final class SensorProcess: Sendable {
    private let command: CommandProcess
    /// Where the sensor accepts Kaspa peers.
    let p2p: PeerAddress

    /// Runs `kaspa-sensor run -c <configuration>` (with `environment` added) and waits until it logs its P2P
    /// listening address.
    init(configuration: String, environment: [String: String] = [:], limit: Duration = .seconds(30)) async throws {
        let command = try CommandProcess.kaspaSensor(["run", "-c", configuration], environment: environment)
        self.command = command
        let deadline = ContinuousClock.now + limit
        while true {
            // The sensor logs to standard error.
            let lines = command.standardError.split(separator: "\n")
            if let address = lines.lazy.filter({ $0.contains("accepting Kaspa peers") }).compactMap(
                Self.listeningAddress
            )
            .first {
                p2p = address
                return
            }
            guard command.isRunning, ContinuousClock.now < deadline else {
                command.send(SIGKILL)
                throw TestFailure("kaspa-sensor did not start listening:\n\(command.standardError)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The lines the sensor printed so far (standard output, then standard error).
    var output: [String] {
        (command.standardOutput + "\n" + command.standardError).split(separator: "\n").map(String.init)
    }

    /// Waits (polling) until the process exits by itself; kills it and throws after `limit`.
    func exited(limit: Duration = .seconds(30)) async throws -> CommandProcess.Finished {
        try await command.finished(limit: limit)
    }

    /// Sends `signal` and waits (polling) until the process has exited.
    func stop(with signal: Int32 = SIGKILL, limit: Duration = .seconds(15)) async throws {
        command.send(signal)
        _ = try await command.finished(limit: limit)
    }

    /// The `address=IP:PORT` metadata of a log line.
    private static func listeningAddress(_ line: Substring) -> PeerAddress? {
        guard let range = line.range(of: "address=") else { return nil }
        let text = line[range.upperBound...].prefix { !$0.isWhitespace }
        return PeerAddress(String(text))
    }
}
