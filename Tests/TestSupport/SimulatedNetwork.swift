import Foundation
public import KaspaP2P

/// A simulated Kaspa network on loopback (`Tests/peers/kaspa_network.py`): hundreds of grpcio node servers on
/// distinct 127.x addresses, each with a known address book, plus unreachable addresses (nothing listening:
/// refused) and silent ones (TCP accepted, nothing said). The test knows every book, so it knows the answers.
public final class SimulatedNetwork: Sendable {
    /// One simulated node.
    public struct Node: Sendable {
        /// Where it listens (one or more 127.x addresses).
        public var listen: [PeerAddress]
        /// Its peer id, 32 hex digits.
        public var id: String
        /// Its address book: `IP:PORT` entries it answers RequestAddresses with.
        public var book: [String]
        /// Accepts TCP and never speaks.
        public var silent = false

        /// Creates a node description.
        public init(listen: [PeerAddress], id: String, book: [String], silent: Bool = false) {
            self.listen = listen
            self.id = id
            self.book = book
            self.silent = silent
        }
    }

    static let script: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("peers/kaspa_network.py").path
    }()

    /// The nodes.
    public let nodes: [Node]
    /// Addresses where nothing listens.
    public let refused: [PeerAddress]
    private let process: Process
    private let printed: OutputLines
    private let directory: String

    /// Writes the spec and starts the simulation; returns once every node listens. With `answerDelay`, every
    /// node waits that long before each Addresses answer (a slow network, for interrupting crawls).
    public init(nodes: [Node], refused: [PeerAddress] = [], answerDelay: Duration = .zero) async throws {
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
        process.arguments = [
            "python3", Self.script, "--spec", specPath, "--lifetime-seconds", "300",
            "--answer-delay-ms", "\(answerDelay / .milliseconds(1))",
        ]
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
    public var reachable: Set<PeerAddress> { Set(nodes.filter { !$0.silent }.flatMap(\.listen)) }
    /// Addresses that accept TCP and never speak.
    public var silent: Set<PeerAddress> { Set(nodes.filter(\.silent).flatMap(\.listen)) }

    /// `(node, address)` of every `address_added` event so far: whose Version.address entered which book.
    public var addedToBooks: [(node: String, address: String)] {
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
public struct SimulationFailure: Error, CustomStringConvertible {
    /// What went wrong, with the simulation's output.
    public var description: String

    /// Creates a failure.
    public init(_ description: String) { self.description = description }
}
