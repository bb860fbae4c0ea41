import Foundation
import KaspaP2P
import TestSupport
import Testing

@testable import SensorEvents

@Suite("Crash recovery: kill -9 while exporting, restart, nothing lost (real kaspa-sensor, real HTTP receiver)")
struct CrashRecoveryTests {
    /// How many peers connect, each with its own user agent, so every event can be told apart at the receiver.
    private static let peers = 150

    @Test(
        "Events in HTTPExport's request in flight and those still queued by the host all arrive after kill -9 and a restart"
    )
    func killNineLosesNothing() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        receiver.setBehaviour(.hang)
        let directory = try BuiltPlugins.makeScratchDirectory(prefix: "crash-recovery")
        let configuration = try Self.writeConfiguration(in: directory, receiverPort: receiver.port)
        let journal = directory.appendingPathComponent("journal")

        var sensor: SensorProcess? = try await SensorProcess(configuration: configuration)
        let expected = Set((0..<Self.peers).map { "/crash-test:\($0)/" })
        try await Self.connectPeers(to: sensor!.p2p)
        // Every event is published (journaled); the receiver hangs on the first batch, so HTTPExport's
        // write_batch is blocked in its POST and the rest wait in the host's memory queue: kill -9 now. Only the
        // journal has them: the plugin keeps nothing of its own.
        #expect(try await eventually(timeout: .seconds(30)) { try Self.journaledEvents(in: journal) == Self.peers })
        #expect(try await eventually { !receiver.requests.isEmpty })
        try await sensor!.stop(with: SIGKILL)
        sensor = nil
        #expect(receiver.deliveredIDs.isEmpty)

        receiver.setBehaviour(.status(200))
        sensor = try await SensorProcess(configuration: configuration)
        let arrived: @Sendable () -> Set<String> = {
            Set(Self.deliveredEvents(receiver).compactMap { $0["user_agent"] as? String })
        }
        #expect(
            try await eventually(timeout: .seconds(60)) { arrived() == expected },
            "missing: \(expected.subtracting(arrived()).sorted().prefix(10))")
        #expect(sensor!.output.contains { $0.contains("replaying") && $0.contains("journaled events") })
        try await sensor!.stop(with: SIGTERM)

        // At least once: every event id arrived; deduplicated, one id per produced event.
        let events = Self.deliveredEvents(receiver)
        let byID = Dictionary(grouping: events) { $0["event_id"] as? String ?? "" }
        #expect(byID.count == Self.peers)
        #expect(byID.values.allSatisfy { Set($0.compactMap { $0["user_agent"] as? String }).count == 1 })
    }

    @Test(
        "PostgresSink: kill -9 while the database is down and every event waits in the journal; after a restart each is stored once"
    )
    func killNineWithPostgres() async throws {
        let server = try PostgresServer()
        defer { server.destroy() }
        try server.stop()
        let directory = try BuiltPlugins.makeScratchDirectory(prefix: "crash-recovery-pg")
        let passwordFile = directory.appendingPathComponent("pg-password")
        try server.password.write(to: passwordFile, atomically: true, encoding: .utf8)
        var files = SensorConfigurationFiles(
            sensorID: "crash-test-pg", sinkLibrary: "libPostgresSink.so",
            sinkConfig: [
                "url": "\"\(server.url)\"", "password_file": "\"\(passwordFile.path)\"", "connect_timeout_s": "2",
            ])
        files.set("session", "linger_ms", "0")
        files.set("session", "address_wait_ms", "200")
        files.sinkHost = [
            "batch_max": "20", "flush_interval_ms": "20", "retry_initial_ms": "50", "retry_max_ms": "200",
        ]
        let configuration = try files.write(in: directory)
        let journal = directory.appendingPathComponent("journal")

        var sensor: SensorProcess? = try await SensorProcess(configuration: configuration)
        try await Self.connectPeers(to: sensor!.p2p)
        #expect(try await eventually(timeout: .seconds(30)) { try Self.journaledEvents(in: journal) == Self.peers })
        #expect(sensor!.output.contains { $0.contains("cannot reach the server now") })
        try await sensor!.stop(with: SIGKILL)
        sensor = nil

        try server.start()
        sensor = try await SensorProcess(configuration: configuration)
        #expect(
            try await eventually(timeout: .seconds(60)) {
                try server.count("SELECT count(*) FROM connection_events") == Self.peers
            })
        try await sensor!.stop(with: SIGTERM)
        #expect(try server.count("SELECT count(DISTINCT user_agent) FROM connection_events") == Self.peers)
        #expect(
            try server.count("SELECT count(*) FROM connection_events WHERE user_agent LIKE '/crash-test:%'")
                == Self.peers)
    }

    private static func deliveredEvents(_ receiver: HTTPReceiver) -> [[String: Any]] {
        receiver.requests.filter { $0.status == 200 }.flatMap(\.events)
    }

    /// Completes a handshake as each peer (25 at a time), then closes.
    private static func connectPeers(to target: PeerAddress) async throws {
        let dialer = KaspaDialer(maxMessageBytes: 32 << 20)
        for wave in stride(from: 0, to: peers, by: 25) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in wave..<min(wave + 25, peers) {
                    group.addTask { try await connect(index, dialer: dialer, target: target) }
                }
                try await group.waitForAll()
            }
        }
    }

    private static func connect(_ index: Int, dialer: KaspaDialer, target: PeerAddress) async throws {
        do {
            let outcome = await dialer.dial(
                target,
                connectTimeout: .seconds(5),
                deadline: .seconds(30),
                local: LocalVersion(network: .mainnet, userAgent: "/crash-test:\(index)/"),
                configuration: PeerSessionConfiguration(
                    afterHandshake: .closeAfterExchange(addressWait: .milliseconds(100), linger: .zero))
            )
            guard case .connected(let report?, _) = outcome, report.handshakeCompleted else {
                throw TestFailure("peer \(index) did not complete the handshake: \(outcome)")
            }
        }
    }

    /// The events in the journal's segments (read-only; the running sensor holds the journal's lock).
    private static func journaledEvents(in directory: URL) throws -> Int {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasPrefix("journal-")
        }
        var count = 0
        for file in files {
            let scanner = try JournalScanner(path: directory.appendingPathComponent(file).path)
            while scanner.next() != nil { count += 1 }
        }
        return count
    }

    private static func writeConfiguration(in directory: URL, receiverPort: UInt16) throws -> String {
        var files = SensorConfigurationFiles(
            sensorID: "crash-test", sinkLibrary: "libHTTPExport.so",
            sinkConfig: [
                "endpoint": "\"http://127.0.0.1:\(receiverPort)/events\"", "request_timeout_ms": "120000",
            ])
        files.set("session", "linger_ms", "0")
        files.set("session", "address_wait_ms", "200")
        files.sinkHost = [
            "batch_max": "20", "flush_interval_ms": "20", "retry_initial_ms": "50", "retry_max_ms": "200",
        ]
        return try files.write(in: directory)
    }
}
