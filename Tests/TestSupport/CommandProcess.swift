import Foundation

/// A command-line program run as a child process, standard output and error read by threads of their own; waiting
/// polls, so no cooperative-pool thread ever blocks on the child.
public final class CommandProcess: Sendable {
    /// How a finished run ended.
    public struct Finished: Sendable {
        /// The exit status (for `exit(130)`, 130), or the signal's number if a signal killed it.
        public var status: Int32
        /// Standard output.
        public var output: String
        /// Standard error.
        public var errors: String
    }

    private let process: Process
    private let output: OutputLines
    private let errors: OutputLines

    /// Starts `executable` with `arguments`, and `environment` added to this process's environment.
    public init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        self.process = process
        self.output = OutputLines(reading: output.fileHandleForReading)
        self.errors = OutputLines(reading: errors.fileHandleForReading)
    }

    /// Starts the built `kaspa-sensor` executable (next to the built plugins) with `arguments` (and `environment`
    /// added to this process's).
    public static func kaspaSensor(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandProcess
    {
        let executable = (BuiltPlugins.directory as NSString).appendingPathComponent("kaspa-sensor")
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ExternalTool.Failed(
                description: "\(executable) is missing; build with `swift build --build-tests` first")
        }
        return try CommandProcess(executable: executable, arguments: arguments, environment: environment)
    }

    /// Runs `kaspa-sensor arguments` to the end (killed after `limit`).
    public static func runKaspaSensor(_ arguments: [String], limit: Duration = .seconds(20)) async throws -> Finished {
        try await kaspaSensor(arguments).finished(limit: limit)
    }

    /// Standard output so far.
    public var standardOutput: String { output.text }
    /// Standard error so far.
    public var standardError: String { errors.text }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` to the process.
    public func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits (polling) for the process to exit and its output to be read; kills it and throws after `limit`.
    public func finished(limit: Duration = .seconds(20)) async throws -> Finished {
        let deadline = ContinuousClock.now + limit
        while process.isRunning || !output.isClosed || !errors.isClosed {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw ExternalTool.Failed(
                    description: "\(process.arguments?.first ?? "") did not finish within \(limit):\n"
                        + standardOutput + "\n" + standardError)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return Finished(status: process.terminationStatus, output: standardOutput, errors: standardError)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
