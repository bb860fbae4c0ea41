import Foundation
import KaspaP2P

/// A server under test running as a child process: where it listens and how much memory it holds.
protocol MeasuredServer {
    /// Where it listens.
    var address: PeerAddress { get }
    /// Resident memory now, in bytes (`VmRSS`).
    var residentBytes: Int { get }
    /// The process id.
    var pid: Int32 { get }
}

extension SensorProcess: MeasuredServer {}
extension BaselineProcess: MeasuredServer {}

/// Helpers for the benchmark's child processes: waiting for a listener, resident memory, termination.
enum ChildProcesses {
    /// A child did not come up.
    struct StartFailure: Error, CustomStringConvertible {
        /// What went wrong.
        var description: String
    }

    /// This executable (`/proc/self/exe`), to start siblings and itself.
    static var ownExecutable: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
    }

    /// Writes `line` and a newline to standard output at once (unbuffered, so a parent reading a pipe sees it).
    static func printLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Polls TCP connects to `address` until one succeeds (or the child exits, or 60 s pass).
    static func waitUntilListening(_ address: PeerAddress, process: Process) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw StartFailure(description: "\(process.executableURL?.path ?? "child") exited at startup")
            }
            if LoopbackSocket.accepts(address) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw StartFailure(description: "nothing listens on \(address) after 60 s")
    }

    /// `VmRSS` of `pid` in bytes (0 if unreadable).
    static func residentBytes(of pid: Int32) -> Int {
        statusBytes("VmRSS:", of: pid)
    }

    /// `RssAnon` of `pid` in bytes: resident heap and stacks, without mapped files (0 if unreadable).
    static func anonymousBytes(of pid: Int32) -> Int {
        statusBytes("RssAnon:", of: pid)
    }

    private static func statusBytes(_ field: String, of pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return 0 }
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }

    /// User plus system CPU seconds `pid` has used so far (`/proc/<pid>/stat`, clock ticks of 1/100 s).
    static func cpuSeconds(of pid: Int32) -> Double {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // Fields after the command name (which is in parentheses and may contain spaces): utime is the 14th field.
        guard let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// SIGTERM, then SIGKILL if the child is still running after 10 s.
    static func terminate(_ process: Process) async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }
}
