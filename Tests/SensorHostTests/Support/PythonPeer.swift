import Foundation
import Synchronization
import TestSupport

/// Runs `Tests/peers/kaspa_peer.py`, the independent grpcio peer, and collects its JSON lines.
struct PythonPeer {
    static let script: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent("peers/kaspa_peer.py").path
    }()

    /// `Tests/peers/edge_client.py`: raw TCP connections and HTTP/2 streams from a chosen loopback source.
    static let edgeScript: String = {
        URL(fileURLWithPath: script).deletingLastPathComponent().appendingPathComponent("edge_client.py").path
    }()

    /// One finished run: exit status and the JSON objects it printed.
    struct Run: Sendable {
        var status: Int32
        var events: [[String: any Sendable]]
        var output: String

        /// The first event named `name`.
        func event(_ name: String) -> [String: any Sendable]? {
            events.first { $0["event"] as? String == name }
        }
    }

    /// Runs a client to completion (killed after `limit`).
    static func run(_ arguments: [String], script: String = script, limit: Duration = .seconds(60)) async throws -> Run
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        // Blocking reads run on their own thread, never on the (2-thread) cooperative pool the sensor needs.
        let data = await withCheckedContinuation { (continuation: CheckedContinuation<Data, Never>) in
            let handle = output.fileHandleForReading
            Thread.detachNewThread { continuation.resume(returning: DescriptorRead.toEnd(handle.fileDescriptor)) }
            Thread.detachNewThread {
                let deadline = ContinuousClock.now + limit
                while process.isRunning && ContinuousClock.now < deadline {
                    Thread.sleep(forTimeInterval: 0.02)
                }
                if process.isRunning { process.terminate() }
            }
        }
        // Foundation's waitUntilExit spins on a cooperative thread (no run loop sources); poll instead.
        while process.isRunning {
            try await Task.sleep(for: .milliseconds(10))
        }
        let text = String(decoding: data, as: UTF8.self)
        return Run(status: process.terminationStatus, events: parse(text), output: text)
    }

    /// JSON values as Sendable values: strings, numbers (NSNumber, which bridges to Int, Double and Bool), null.
    static func sendable(_ value: Any) -> any Sendable {
        switch value {
        case let text as String: return text
        case let number as NSNumber: return number
        case is NSNull: return NSNull()
        default: return String(describing: value)
        }
    }

    static func parse(_ text: String) -> [[String: any Sendable]] {
        text.split(separator: "\n").compactMap { line in
            guard let data = line.data(using: .utf8),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return nil }
            return object.mapValues(sendable)
        }
    }
}

/// A long-running `kaspa_peer.py server` or `tcp-sink`, stopped when the test is done.
final class PythonListener: Sendable {
    private let process: Process
    let port: UInt16
    /// The node id a `server` sends on every stream (hex), from its `listening` line. A client run as the same
    /// node passes it with `--id-hex`: nodes use one id in both roles, and only that id makes the dial-back
    /// `public`.
    let id: String
    private let lines: OutputLines

    /// Starts `python3 kaspa_peer.py <arguments>` and waits for its `listening` line (or `readyEvent`; `port` is
    /// 0 when that line names none).
    init(_ arguments: [String], readyEvent: String = "listening") async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", PythonPeer.script] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        let sink = OutputLines(reading: output.fileHandleForReading)
        self.lines = sink
        let deadline = ContinuousClock.now + .seconds(30)
        var found: [String: any Sendable]?
        while found == nil && ContinuousClock.now < deadline && process.isRunning {
            found = sink.lines.withLock { lines in
                PythonPeer.parse(lines.joined(separator: "\n")).first { $0["event"] as? String == readyEvent }
            }
            if found == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let found, let port = (found["port"] as? NSNumber)?.uint16Value ?? (readyEvent == "listening" ? nil : 0)
        else {
            process.terminate()
            throw TestFailure("kaspa_peer.py \(arguments.joined(separator: " ")) printed no \(readyEvent) line")
        }
        self.port = port
        self.id = found["id"] as? String ?? ""
    }

    /// Waits (up to `limit`) until an event named `name` has been printed, and returns every such event.
    func events(named name: String, atLeast count: Int = 1, limit: Duration = .seconds(10)) async throws
        -> [[String: any Sendable]]
    {
        let deadline = ContinuousClock.now + limit
        while true {
            let matching = events.filter { $0["event"] as? String == name }
            if matching.count >= count || ContinuousClock.now >= deadline { return matching }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Every JSON event printed so far.
    var events: [[String: any Sendable]] {
        lines.lines.withLock { PythonPeer.parse($0.joined(separator: "\n")) }
    }

    deinit {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(3)
        while process.isRunning && ContinuousClock.now < deadline {
            usleep(10_000)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }
}

/// A failure with a message, for `throw` in test helpers.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
