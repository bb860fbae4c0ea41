import Foundation
public import KaspaP2P
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// Serves `GET /metrics` (Prometheus text format) and `GET /health` (JSON) over HTTP/1.1.
public final class MetricsServer: Service {
    private let address: PeerAddress
    private let metrics: SensorMetrics
    private let health: @Sendable () -> HealthReport
    private let logger: Logger
    private let bound = Mutex<PeerAddress?>(nil)
    private let maxConnections: Int
    private let active = Atomic<Int>(0)

    /// Creates a server for `address` (port 0 picks a free port; see ``boundAddress``) that serves at most
    /// `maxConnections` connections at once and closes more at accept, so that a flood of scrapers or scanners
    /// cannot take the sensor's descriptors or threads.
    public init(
        address: PeerAddress, metrics: SensorMetrics, logger: Logger, maxConnections: Int = 16,
        health: @escaping @Sendable () -> HealthReport
    ) {
        self.maxConnections = maxConnections
        self.address = address
        self.metrics = metrics
        self.health = health
        self.logger = logger
    }

    /// The address actually bound, once ``run()`` has bound it.
    public var boundAddress: PeerAddress? { bound.withLock { $0 } }

    /// Serves until graceful shutdown or cancellation.
    public func run() async throws {
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        do {
            server = try await bind()
        } catch {
            throw ListenError(
                role: "metrics",
                address: address.description,
                key: "[metrics] address",
                reason: String(describing: error)
            )
        }
        if let port = server.channel.localAddress?.port {
            bound.withLock { $0 = PeerAddress(ip: address.ip, port: UInt16(port)) }
        }
        logger.info("serving metrics", metadata: ["address": "\(boundAddress?.description ?? "?")"])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        guard active.add(1, ordering: .relaxed).newValue <= maxConnections else {
                            active.subtract(1, ordering: .relaxed)
                            // Closed through the async channel (dropping it unfinished trips NIO's writer check).
                            try? await connection.executeThenClose { _, _ in }
                            continue
                        }
                        group.addTask {
                            await self.serve(connection)
                            self.active.subtract(1, ordering: .relaxed)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private func bind() async throws -> NIOAsyncChannel<
        NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never
    > {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .bind(host: address.ip.description, port: Int(address.port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await withDeadline(.seconds(10)) {
            try await connection.executeThenClose { inbound, outbound in
                var path = ""
                var method = HTTPMethod.GET
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        path = head.uri
                        method = head.method
                    case .body:
                        break
                    case .end:
                        let (status, contentType, body) = self.respond(method: method, path: path)
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: contentType)
                        headers.add(name: "Content-Length", value: String(body.count))
                        headers.add(name: "Connection", value: "close")
                        try await outbound.write(
                            .head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                        try await outbound.write(.end(nil))
                        return
                    }
                }
            }
        }
    }

    private func respond(method: HTTPMethod, path: String) -> (HTTPResponseStatus, String, [UInt8]) {
        let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        guard method == .GET || method == .HEAD else {
            return (.methodNotAllowed, "text/plain", Array("only GET\n".utf8))
        }
        switch route {
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", metrics.render())
        case "/health", "/healthz":
            let report = health()
            return (report.healthy ? .ok : .serviceUnavailable, "application/json", Array(report.json.utf8))
        default:
            return (.notFound, "text/plain", Array("not found; try /metrics or /health\n".utf8))
        }
    }
}

/// What `/health` says: healthy unless a required part has failed.
public struct HealthReport: Sendable {
    /// True when the sensor works as configured.
    public var healthy: Bool
    /// The sensor id.
    public var sensorID: String
    /// Seconds since start.
    public var uptimeSeconds: Int
    /// Open peer connections.
    public var activeConnections: Int
    /// Problems, empty when healthy.
    public var problems: [String]

    /// Creates a report.
    public init(healthy: Bool, sensorID: String, uptimeSeconds: Int, activeConnections: Int, problems: [String]) {
        self.healthy = healthy
        self.sensorID = sensorID
        self.uptimeSeconds = uptimeSeconds
        self.activeConnections = activeConnections
        self.problems = problems
    }

    var json: String {
        let problemList = problems.map { "\"\($0.replacingOccurrences(of: "\"", with: "'"))\"" }.joined(separator: ",")
        return """
            {"status":"\(healthy ? "ok" : "degraded")","sensor_id":"\(sensorID)","uptime_seconds":\(uptimeSeconds),\
            "active_connections":\(activeConnections),"problems":[\(problemList)]}
            """ + "\n"
    }
}
