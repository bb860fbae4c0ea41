import Foundation

/// Runs command-line tools (a C compiler, `openssl`) for tests.
public enum ExternalTool {
    /// The tool failed: its command and what it printed.
    public struct Failed: Error, CustomStringConvertible {
        /// The command line's first words and the tool's output.
        public let description: String
    }

    /// Runs a tool found on `PATH` to completion; returns what it printed (standard output and error, in one pipe
    /// so neither can fill up and block it), or throws with that text if it failed.
    @discardableResult
    public static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: DescriptorRead.toEnd(output.fileHandleForReading.fileDescriptor), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "\(arguments.prefix(2).joined(separator: " ")) … failed: \(text)")
        }
        return text
    }
}
