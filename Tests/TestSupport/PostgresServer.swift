public import Foundation
import Synchronization

/// A throwaway PostgreSQL cluster for tests (Debian's `postgresql` package): `initdb` in a scratch folder, the
/// server on 127.0.0.1 at a free port and on a Unix socket in that folder, stopped and deleted by ``destroy()``.
///
/// PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the `postgres` user
/// and its commands run through `runuser`. TCP connections authenticate with a password (SCRAM), so that the
/// sink's password settings are exercised; the socket trusts, for the tests' own queries through `psql`.
public final class PostgresServer: Sendable {
    /// The cluster's folder (data, socket, log).
    public let directory: URL
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The role the sink connects as.
    public let user = "kaspa"
    /// The role's password (TCP connections must give it).
    public let password = "sensor-test-password"
    /// The database the tests use.
    public let database = "kaspa"

    /// A libpq URI for the sink (without the password).
    public var url: String { "postgresql://\(user)@127.0.0.1:\(port)/\(database)" }

    private var dataDirectory: String { directory.appendingPathComponent("data").path }
    private var logFile: String { directory.appendingPathComponent("server.log").path }
    private let binaries: String
    /// The running server (through `runuser` when root), if started.
    private let postmaster = Mutex<Process?>(nil)

    /// Creates a cluster and starts it. `durable: false` turns off fsync (fast tests); benchmarks keep it on.
    public init(durable: Bool = false) throws {
        binaries = try Self.findBinaries()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pg-\(UUID().uuidString.prefix(8).lowercased())", isDirectory: true)
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        directory = path
        port = try Self.freePort()
        do {
            try Self.initialise(
                path: path, binaries: binaries, port: port, durable: durable, user: user, password: password)
        } catch {
            try? FileManager.default.removeItem(at: path)
            throw error
        }
        try start()
        try psql("CREATE DATABASE \(database)", database: "postgres")
    }

    /// `initdb` and the server's settings.
    private static func initialise(
        path: URL, binaries: String, port: Int, durable: Bool, user: String, password: String
    ) throws {
        let dataDirectory = path.appendingPathComponent("data").path
        let passwordFile = path.appendingPathComponent("pwfile").path
        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        if geteuid() == 0 {
            _ = try ExternalTool.run(["chown", "-R", "postgres:postgres", path.path])
        }
        try runAsOwner([
            "\(binaries)/initdb", "-D", dataDirectory, "-U", user, "--pwfile", passwordFile, "-E", "UTF8",
            "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions",
        ])
        var settings = [
            "listen_addresses": "'127.0.0.1'", "port": String(port), "unix_socket_directories": "'\(path.path)'",
            "max_connections": "40", "shared_buffers": "64MB",
        ]
        if !durable {
            // Without fsync a committed transaction survives a server crash (the tests' `immediate` stop) but not
            // a power loss; synchronous_commit stays on, or the crash would lose commits.
            settings.merge(["fsync": "off", "full_page_writes": "off"]) { $1 }
        }
        let configuration = settings.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dataDirectory)/postgresql.conf"))
        handle.seekToEndOfFile()
        handle.write(Data(("\n" + configuration.joined(separator: "\n") + "\n").utf8))
        try handle.close()
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    ///
    /// The server runs as this process's child, not through `pg_ctl start`: Foundation's `Process` learns that a
    /// child ended when a descriptor it shares with the child closes, and a server `pg_ctl` left running would
    /// hold it, so `pg_ctl` would never seem to end.
    public func start() throws {
        if !FileManager.default.fileExists(atPath: logFile) {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
            if geteuid() == 0 { try ExternalTool.run(["chown", "postgres:postgres", logFile]) }
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        defer { try? log.close() }
        try log.seekToEnd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let command = ["\(binaries)/postgres", "-D", dataDirectory]
        process.arguments = geteuid() == 0 ? ["runuser", "-u", "postgres", "--"] + command : command
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        postmaster.withLock { $0 = process }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard process.isRunning else { break }
            if (try? ExternalTool.run(["\(binaries)/pg_isready", "-q", "-h", directory.path, "-p", String(port)]))
                != nil
            {
                return
            }
            usleep(50_000)
        }
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        throw ExternalTool.Failed(description: "the PostgreSQL server did not start: \(text.suffix(2000))")
    }

    /// Stops the server: `fast` ends sessions and shuts down cleanly; `immediate` is a crash (no checkpoint).
    public func stop(mode: String = "fast") throws {
        try runAsOwner(["\(binaries)/pg_ctl", "-D", dataDirectory, "-m", mode, "-w", "-t", "60", "stop"])
        let process = postmaster.withLock { process in
            defer { process = nil }
            return process
        }
        process?.waitUntilExit()
    }

    /// Runs `sql` through `psql` over the socket; returns the rows, one line each, columns separated by `|`.
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) throws -> [String] {
        let output = try runAsOwner([
            "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", directory.path, "-p", String(port),
            "-U", user, "-d", database ?? self.database, "-c", sql,
        ])
        return output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// The first column of the first row of `sql`, as an integer.
    public func count(_ sql: String) throws -> Int {
        Int(try psql(sql).first ?? "") ?? -1
    }

    /// Stops the server (at once) and deletes the cluster.
    public func destroy() {
        _ = try? stop(mode: "immediate")
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    private func runAsOwner(_ arguments: [String]) throws -> String {
        try Self.runAsOwner(arguments)
    }

    @discardableResult
    private static func runAsOwner(_ arguments: [String]) throws -> String {
        try ExternalTool.run(geteuid() == 0 ? ["runuser", "-u", "postgres", "--"] + arguments : arguments)
    }

    /// The folder of `initdb` and `pg_ctl`: on `PATH`, else the newest `/usr/lib/postgresql/<version>/bin`.
    private static func findBinaries() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for folder in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/initdb")
        {
            // Debian's links in /usr/local/bin or the like: pg_ctl must come from the same installation.
            let resolved = URL(fileURLWithPath: "\(folder)/initdb").resolvingSymlinksInPath()
                .deletingLastPathComponent()
            return resolved.path
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw ExternalTool.Failed(description: "PostgreSQL is not installed (apt-get install postgresql)")
        }
        return "/usr/lib/postgresql/\(newest)/bin"
    }

    /// A TCP port nothing listens on now (bound and released; the server binds it right after).
    private static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && getsockname(socket, generic, &length) == 0
            }
        }
        guard bound else { throw ExternalTool.Failed(description: "no free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
