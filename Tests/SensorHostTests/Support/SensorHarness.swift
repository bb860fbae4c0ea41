import CSQLite
import Foundation
import FoundationNetworking
import KaspaP2P
import Logging
import SensorHost
import ServiceLifecycle

/// A real sensor for a test: its own temporary folder, `sensor.toml`, SQLite file, listeners on 127.0.0.1 port 0,
/// run in-process with the real SQLiteSink plugin loaded through dlopen.
struct SensorHarness: Sendable {
    let application: SensorApplication
    let group: ServiceGroup
    let directory: String
    let p2p: PeerAddress
    let metrics: PeerAddress?

    /// Settings every test starts from (`allow_private_targets`, since everything runs on loopback).
    static let baseSettings: [String: [String: String]] = [
        "sensor": ["sensor_id": "\"test-sensor\"", "log_level": "\"warning\""],
        "network": ["listen_address": "\"127.0.0.1:0\""],
        "probing": ["allow_private_targets": "true", "connect_timeout_ms": "4000"],
        "session": ["linger_ms": "1000", "address_wait_ms": "1000"],
        "metrics": ["address": "\"127.0.0.1:0\""],
    ]

    /// The SQLite file of connection events.
    var databasePath: String { (directory as NSString).appendingPathComponent("sensor-data.db") }

    /// Runs `body` against a running sensor configured with `settings` layered over ``baseSettings``; shuts the
    /// sensor down gracefully afterwards (so every event is flushed before the body's checks that follow).
    static func withSensor<T: Sendable>(
        _ settings: [String: [String: String]] = [:],
        plugins: String? = nil,
        _ body: @Sendable (SensorHarness) async throws -> T
    ) async throws -> T {
        let directory = NSTemporaryDirectory() + "kaspa-sensor-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var merged = baseSettings
        for (section, keys) in settings {
            merged[section, default: [:]].merge(keys) { $1 }
        }
        let toml = merged.sorted { $0.key < $1.key }.map { section, keys in
            "[\(section)]\n" + keys.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: "\n")
        }.joined(separator: "\n\n")
        let file = (directory as NSString).appendingPathComponent("sensor.toml")
        try toml.write(toFile: file, atomically: true, encoding: .utf8)
        if let plugins {
            try plugins.write(
                toFile: (directory as NSString).appendingPathComponent("plugins.toml"), atomically: true,
                encoding: .utf8)
        }
        let loaded = try ConfigurationLoader.load(file: file, environment: [:])
        var logger = Logger(label: "test-sensor")
        logger.logLevel = .warning
        let application = try await SensorApplication(loaded: loaded, logger: logger)
        let group = application.makeServiceGroup(gracefulShutdownSignals: [])
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            let p2p = try await application.p2pServer.listeningAddresses()[0]
            var metrics: PeerAddress?
            if let server = application.metricsServer {
                let deadline = ContinuousClock.now + .seconds(10)
                while server.boundAddress == nil && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                metrics = server.boundAddress
            }
            let harness = SensorHarness(
                application: application, group: group, directory: directory, p2p: p2p, metrics: metrics)
            let result: T
            do {
                result = try await body(harness)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            while let next = try await tasks.next() {
                if next == nil { break }
            }
            return result
        }
    }

    /// Polls the events table until `count` rows match `whereClause`, or fails after `limit`.
    func waitForRows(_ count: Int = 1, where whereClause: String = "1", limit: Duration = .seconds(30)) async throws
        -> [[String: String]]
    {
        let deadline = ContinuousClock.now + limit
        var rows: [[String: String]] = []
        while ContinuousClock.now < deadline {
            rows =
                (try? EventRows.query(
                    databasePath, "SELECT * FROM connection_events WHERE \(whereClause) ORDER BY sequence")) ?? []
            if rows.count >= count { return rows }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("expected \(count) rows where \(whereClause), found \(rows.count): \(rows)")
    }

    /// Runs the independent Python peer as a client of this sensor.
    func pythonClient(_ arguments: [String], limit: Duration = .seconds(60)) async throws -> PythonPeer.Run {
        try await PythonPeer.run(["client", "--target", p2p.description] + arguments, limit: limit)
    }

    /// Runs the independent hostile-edge client (`edge_client.py connections|streams`) against this sensor and
    /// returns its one JSON result.
    func edgeClient(_ command: String, _ arguments: [String]) async throws -> [String: any Sendable] {
        let run = try await PythonPeer.run(
            [command, "--target", p2p.description] + arguments, script: PythonPeer.edgeScript)
        guard run.status == 0, let result = run.events.last else {
            throw TestFailure("edge_client.py \(command) failed (\(run.status)): \(run.output)")
        }
        return result
    }

    /// An HTTP GET against the metrics endpoint.
    func get(_ path: String) async throws -> (status: Int, body: String) {
        guard let metrics else { throw TestFailure("metrics are disabled") }
        let url = URL(string: "http://\(metrics)\(path)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

/// Reads rows from a SQLite file as text.
enum EventRows {
    static func query(_ path: String, _ sql: String) throws -> [[String: String]] {
        var database: OpaquePointer?
        guard sqlite3_open_v2(path, &database, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            sqlite3_close(database)
            throw TestFailure("cannot open \(path)")
        }
        defer { sqlite3_close(database) }
        sqlite3_busy_timeout(database, 2000)
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK else {
            throw TestFailure("cannot run \(sql): \(String(cString: sqlite3_errmsg(database)))")
        }
        defer { sqlite3_finalize(statement) }
        var rows: [[String: String]] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            var row: [String: String] = [:]
            for column in 0..<sqlite3_column_count(statement) {
                let name = String(cString: sqlite3_column_name(statement, column))
                if let text = sqlite3_column_text(statement, column) {
                    row[name] = String(cString: text)
                }
            }
            rows.append(row)
        }
        return rows
    }
}
