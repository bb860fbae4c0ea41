public import KaspaP2P
public import Logging
import Synchronization

/// Dials inbound peers back and labels them public, private or unknown.
///
/// The target is always the connection's own remote IP (never an address the peer names: no reflection), on the
/// port from its Version.address or else the network's default port. A probe is a TCP connect followed by the
/// Kaspa handshake as initiator with a fresh id, stopping as soon as the peer's Version proves a node answers.
/// Probes are bounded (`max_concurrent` running, `queue_capacity` waiting), deduplicated while in flight, and
/// cached per target for `cache_ttl_secs`. Probes never hold up handshakes: sessions call ``probe(remoteIP:port:)``
/// from their own task and carry on.
public final class Prober: Sendable {
    private let configuration: SensorConfiguration.Probing
    private let network: KaspaNetwork
    private let userAgent: String
    private let dialer: KaspaDialer
    private let limiter: ProbeLimiter
    private let cache: ProbeCache
    private let metrics: SensorMetrics
    private let logger: Logger

    /// Creates a prober.
    public init(
        configuration: SensorConfiguration.Probing,
        network: KaspaNetwork,
        userAgent: String,
        dialer: KaspaDialer,
        metrics: SensorMetrics,
        logger: Logger
    ) {
        self.configuration = configuration
        self.network = network
        self.userAgent = userAgent
        self.dialer = dialer
        self.metrics = metrics
        self.logger = logger
        self.limiter = ProbeLimiter(
            maxRunning: configuration.maxConcurrent,
            maxWaiting: configuration.queueCapacity,
            onChange: { running, waiting in metrics.probeLoad(running: running, waiting: waiting) }
        )
        self.cache = ProbeCache(ttl: .seconds(configuration.cacheTTLSeconds), capacity: 100_000)
    }

    /// The address a probe of this peer dials: the remote IP, on `advertisedPort` or the network default.
    public func target(remoteIP: IPAddress, advertisedPort: UInt16?) -> PeerAddress {
        PeerAddress(ip: remoteIP, port: advertisedPort ?? network.defaultPort)
    }

    /// Probes `target` (see ``target(remoteIP:advertisedPort:)``) and returns the label with its evidence.
    public func probe(_ target: PeerAddress) async -> ProbeResult {
        let result = await classify(target)
        metrics.probeFinished(
            classification: result.classification.rawValue,
            outcome: result.outcome,
            duration: result.duration,
            fresh: !result.cached && result.attempts > 0
        )
        return result
    }

    private func classify(_ target: PeerAddress) async -> ProbeResult {
        guard configuration.enabled else {
            return .notDialed("probing_disabled", "[probing] enabled = false", target: nil)
        }
        guard configuration.allowPrivateTargets || target.ip.isPubliclyRoutable else {
            return .notDialed(
                "non_routable_target",
                "\(target.ip) is not publicly routable and [probing] allow_private_targets = false",
                target: target
            )
        }
        switch cache.lookup(target) {
        case .hit(var result):
            result.cached = true
            return result
        case .wait(let pending):
            var result = await pending.value
            result.cached = true
            return result
        case .miss(let pending):
            let result = await runLimited(target)
            cache.store(result, for: target, completing: pending)
            return result
        }
    }

    private func runLimited(_ target: PeerAddress) async -> ProbeResult {
        guard await limiter.acquire() else {
            let reason = Task.isCancelled ? "shutdown" : "probe_queue_full"
            return .notDialed(reason, "\(configuration.queueCapacity) probes already waiting", target: target)
        }
        defer { limiter.release() }
        let start = ContinuousClock.now
        var result = await attempt(target)
        var attempts = 1
        if result.outcome == DialFailure.Kind.timedOut.rawValue, configuration.retryOnTimeout, !Task.isCancelled {
            result = await attempt(target)
            attempts = 2
        }
        result.attempts = attempts
        result.duration = ContinuousClock.now - start
        logger.debug(
            "probe finished",
            metadata: [
                "target": "\(target)", "classification": "\(result.classification)", "outcome": "\(result.outcome)",
            ]
        )
        return result
    }

    private func attempt(_ target: PeerAddress) async -> ProbeResult {
        let timeout = Duration.milliseconds(configuration.timeoutMilliseconds)
        let session = PeerSessionConfiguration(
            versionTimeout: timeout,
            verackTimeout: timeout,
            readyTimeout: timeout,
            afterHandshake: .stopAtPeerVersion,
            addressRequestRounds: 0
        )
        let outcome = await dialer.dial(
            target,
            connectTimeout: timeout,
            deadline: timeout,
            local: LocalVersion(network: network, userAgent: userAgent),
            configuration: session
        )
        var result = ProbeResult(
            classification: .unknown, outcome: "", error: nil, target: target, duration: nil, attempts: 1, cached: false
        )
        switch outcome {
        case .notConnected(let failure):
            result.outcome = failure.kind.rawValue
            result.error = failure.message
            switch failure.kind {
            case .refused, .timedOut: result.classification = .private
            case .unreachable, .other: result.classification = .unknown
            }
        case .connected(let report, let error):
            if let version = report?.peerVersion {
                result.classification = .public
                result.outcome = "version_received"
                result.peerUserAgent = version.userAgent
                result.peerID = version.idHex
                result.peerProtocolVersion = version.protocolVersion
                if let failure = report?.handshakeFailure, failure.code != .stoppedAtVersion {
                    result.error = "after its Version: \(failure)"
                }
            } else {
                result.classification = .unknown
                result.outcome = "tcp_open_no_version"
                result.error = report.map { "\($0.handshakeOutcome): \($0.disconnectReason)" } ?? error
            }
        }
        return result
    }
}
