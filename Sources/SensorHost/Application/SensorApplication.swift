public import AddressBook
import Foundation
import KaspaP2P
public import Logging
import NIOPosix
import NetworkCrawler
public import SensorEvents
public import ServiceLifecycle
public import UnixSignals

/// Assembles and runs a sensor: the sink dispatcher, the metrics endpoint and the P2P listeners in one
/// `ServiceGroup`. The dispatcher is listed first so it stops last: producers stop, then sinks drain and flush.
public final class SensorApplication: Sendable {
    /// The software version in the user agent.
    public static let version = "0.1.0"

    /// The configuration it runs with.
    public let loaded: LoadedConfiguration
    /// The metrics.
    public let metrics: SensorMetrics
    /// The sinks.
    public let dispatcher: SinkDispatcher
    /// The P2P listeners.
    public let p2pServer: P2PServer
    /// The metrics endpoint, when enabled.
    public let metricsServer: MetricsServer?
    /// The address database writer, when addresses are harvested (`[session] address_request_rounds` > 0).
    public let addressRecorder: AddressRecorder?
    private let announcement: AnnouncementService?
    private let logger: Logger

    /// Loads the sinks and prepares the services (nothing listens until ``run()``).
    public init(loaded: LoadedConfiguration, logger: Logger) async throws {
        let configuration = loaded.configuration
        self.loaded = loaded
        self.logger = logger
        let metrics = SensorMetrics()
        self.metrics = metrics
        let sinks = try SinkPlan.sinks(for: loaded)
        let journal =
            configuration.plugins.journal
            ? try EventJournal(
                configuration: EventJournal.Configuration(
                    directory: loaded.resolve(configuration.plugins.journalDirectory),
                    maxBytes: Int64(configuration.plugins.journalMaxMegabytes) << 20),
                logger: logger)
            : nil
        self.dispatcher = try await SinkDispatcher(
            sinks: sinks,
            configuration: SinkDispatcher.Configuration(
                sensorID: configuration.sensor.sensorID, journal: journal,
                deadLetterDirectory: loaded.resolve(configuration.plugins.deadLetterDirectory),
                deadLetterMaxBytes: Int64(configuration.plugins.deadLetterMaxMegabytes) << 20),
            logger: logger,
            metricsFactory: metrics.factory
        )
        let userAgent = LocalVersion.userAgent(
            name: "kaspa-sensor",
            version: Self.version,
            comment: configuration.sensor.userAgentComment
        )
        let prober = Prober(
            configuration: configuration.probing,
            network: configuration.network.networkType,
            userAgent: userAgent,
            dialer: KaspaDialer(maxMessageBytes: configuration.network.maxMessageBytes),
            metrics: metrics,
            exemptLoopback: configuration.limits.exemptLoopback,
            logger: logger
        )
        let addressRecorder: AddressRecorder?
        if configuration.session.addressRequestRounds > 0 || configuration.announce.enabled {
            do {
                addressRecorder = try AddressRecorder(
                    path: loaded.resolve(configuration.database.addressDatabasePath),
                    capacity: configuration.database.addressQueueCapacity, logger: logger)
            } catch {
                throw ConfigurationError(
                    file: loaded.file ?? "defaults", key: "database.addressdb_path", reason: error.description)
            }
        } else {
            addressRecorder = nil
        }
        self.addressRecorder = addressRecorder
        self.announcement = Self.makeAnnouncement(
            loaded: loaded, userAgent: userAgent, recorder: addressRecorder, logger: logger)
        // Attempts that never became a session (silent, refused, over capacity): summarised per source.
        let attempts = ConnectionAttemptLog(
            sensorID: configuration.sensor.sensorID, network: configuration.network.networkType,
            interval: .seconds(configuration.network.attemptSummarySeconds), events: dispatcher, metrics: metrics)
        let handler = InboundConnectionHandler(
            configuration: configuration,
            prober: prober,
            events: dispatcher,
            metrics: metrics,
            logger: logger,
            userAgent: userAgent,
            addressRecorder: addressRecorder,
            attempts: attempts
        )
        let budget = DescriptorBudget(
            fileLimit: DescriptorBudget.raiseFileLimit(),
            dialers: configuration.probing.maxConcurrent + configuration.announce.maxPeers,
            metricsConnections: configuration.metrics.maxConnections,
            configured: configuration.limits.maxTCPConnections)
        logger.info(
            "peer connection budget",
            metadata: [
                "max_tcp_connections": "\(budget.peerConnections)", "open_file_limit": "\(budget.fileLimit)",
                "reserved": "\(budget.reserve)",
            ])
        let listenAddresses = configuration.network.listenAddresses.compactMap { PeerAddress($0) }
        self.p2pServer = P2PServer(
            addresses: listenAddresses,
            handler: handler,
            maxMessageBytes: configuration.network.maxMessageBytes,
            silentConnectionTimeout: .milliseconds(configuration.handshake.versionTimeoutMilliseconds),
            metrics: metrics,
            limits: configuration.limits,
            maxTCPConnections: budget.peerConnections,
            attempts: attempts,
            logger: logger
        )
        if configuration.metrics.enabled, let address = PeerAddress(configuration.metrics.address) {
            let started = ContinuousClock.now
            let dispatcher = self.dispatcher
            let sensorID = configuration.sensor.sensorID
            self.metricsServer = MetricsServer(
                address: address, metrics: metrics, logger: logger,
                maxConnections: configuration.metrics.maxConnections
            ) {
                let disabled = dispatcher.disabledSinkNames
                let overdue = dispatcher.overdueSinkNames
                return HealthReport(
                    healthy: disabled.isEmpty && overdue.isEmpty,
                    sensorID: sensorID,
                    uptimeSeconds: Int((ContinuousClock.now - started).components.seconds),
                    activeConnections: metrics.openConnections,
                    problems: disabled.map { "sink \($0) is disabled" }
                        + overdue.map { "sink \($0): write_batch ran past its write_deadline_ms" }
                )
            }
        } else {
            self.metricsServer = nil
        }
    }

    /// Runs until SIGINT or SIGTERM (or cancellation), then shuts down gracefully.
    public func run() async throws {
        try await makeServiceGroup(gracefulShutdownSignals: [.sigterm, .sigint]).run()
    }

    /// The service group ``run()`` runs; tests run it themselves and call `triggerGracefulShutdown()`.
    public func makeServiceGroup(gracefulShutdownSignals: [UnixSignal]) -> ServiceGroup {
        var services: [any Service] = [dispatcher]
        if let addressRecorder { services.append(AddressRecorderService(recorder: addressRecorder)) }
        if let metricsServer { services.append(metricsServer) }
        services.append(p2pServer)
        let p2pServer = self.p2pServer
        services.append(MemoryTrimmer(openConnections: { p2pServer.openConnectionCount }))
        if let announcement { services.append(announcement) }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger
            )
        )
        logger.info(
            "kaspa-sensor starting",
            metadata: [
                "sensor_id": "\(loaded.configuration.sensor.sensorID)",
                "network": "\(loaded.configuration.network.networkType.wireName)",
                "sinks": "\(dispatcher.sinkNames.joined(separator: ","))",
            ]
        )
        return group
    }

    private static func makeAnnouncement(
        loaded: LoadedConfiguration, userAgent: String, recorder: AddressRecorder?, logger: Logger
    ) -> AnnouncementService? {
        let configuration = loaded.configuration
        let announce = configuration.announce
        guard announce.enabled, let external = configuration.sensor.externalAddress else { return nil }
        var visit = CrawlConfiguration(network: configuration.network.networkType, userAgent: userAgent)
        visit.nodeTimeout = .milliseconds(announce.timeoutMilliseconds)
        visit.connectTimeout = .milliseconds(
            min(announce.timeoutMilliseconds, configuration.probing.connectTimeoutMilliseconds))
        visit.addressRounds = max(configuration.session.addressRequestRounds, 1)
        visit.roundSpacing = .milliseconds(configuration.session.addressRequestSpacingMilliseconds)
        visit.allowPrivateTargets = configuration.probing.allowPrivateTargets
        var settings = Announcer.Settings(externalAddress: external, visit: visit)
        settings.maxPeers = announce.maxPeers
        settings.configuredPeers = announce.peers.compactMap { PeerAddress($0) }
        settings.addressDatabase =
            announce.useAddressDatabase ? loaded.resolve(configuration.database.addressDatabasePath) : nil
        settings.useDNSSeeds = announce.useDNSSeeds
        return AnnouncementService(
            announcer: Announcer(
                settings: settings, dialer: KaspaDialer(maxMessageBytes: configuration.network.maxMessageBytes)),
            interval: .seconds(announce.intervalSeconds), recorder: recorder, logger: logger)
    }
}
