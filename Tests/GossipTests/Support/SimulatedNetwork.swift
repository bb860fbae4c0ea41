import Foundation
import KaspaP2P
import TestSupport

/// A simulated Kaspa network on loopback (`Tests/peers/kaspa_network.py`): hundreds of grpcio node servers on
/// distinct 127.x addresses, each with a known address book, plus unreachable addresses (nothing listening:
/// refused) and silent ones (TCP accepted, nothing said). The test knows every book, so it knows the answers.
final class SimulatedNetwork: Sendable {
    /// One simulated node.
    struct Node: Sendable {
        var listen: [PeerAddress]
        var id: String
        var book: [String]
        var silent = false
    }

    static let script: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("peers/kaspa_network.py").path
    }()

    let nodes: [Node]
    let refused: [PeerAddress]
    private let process: Process
    private let printed: OutputLines
    private let directory: String

    /// Writes the spec and starts the simulation; returns once every node listens.
    init(nodes: [Node], refused: [PeerAddress]) async throws {
        self.nodes = nodes
        self.refused = refused
        directory = NSTemporaryDirectory() + "kaspa-network-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let spec: [String: Any] = [
            "network": "kaspa-mainnet",
            "nodes": nodes.map { node in
                [
                    "listen": node.listen.map(\.description), "id": node.id, "book": node.book,
                    "kind": node.silent ? "silent" : "node",
                ] as [String: Any]
            },
        ]
        let specPath = directory + "/spec.json"
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: specPath))
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script, "--spec", specPath, "--lifetime-seconds", "300"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        printed = OutputLines(reading: output.fileHandleForReading)
        let deadline = ContinuousClock.now + .seconds(60)
        while !printed.lines.withLock({ $0.contains { $0.contains("\"listening\"") } }) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw SimulationFailure("the simulated network did not start: \(printed.lines.withLock { $0 })")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Every address where a node listens.
    var reachable: Set<PeerAddress> { Set(nodes.filter { !$0.silent }.flatMap(\.listen)) }
    /// Addresses that accept TCP and never speak.
    var silent: Set<PeerAddress> { Set(nodes.filter(\.silent).flatMap(\.listen)) }

    /// `(node, address)` of every `address_added` event so far: whose Version.address entered which book.
    var addedToBooks: [(node: String, address: String)] {
        printed.lines.withLock { $0 }.compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["event"] as? String == "address_added", let node = object["node"] as? String,
                let address = object["address"] as? String
            else { return nil }
            return (node, address)
        }
    }

    deinit {
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The simulation could not start.
struct SimulationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
