public import KaspaP2P
public import Logging
import Synchronization

/// Dials inbound peers back and labels them public, private or unknown.
///
/// The target is always the connection's own remote IP (never an address the peer names: no reflection), on the
/// port from its Version.address or else the network's default port (``ProbeRequest``). A probe is a TCP connect
/// (`connect_timeout_ms`, retried once after a timeout), the listener's HTTP/2 SETTINGS (`http2_timeout_ms`) and
/// the Kaspa handshake as initiator with a fresh id, waiting up to `version_timeout_ms` for the node's Version:
/// a busy rusty-kaspa node handshakes its inbound peers one at a time and can answer many seconds late.
///
/// The label is known when the node's Version arrives (public only if it carries the inbound peer's id) and is
/// handed over at once; the probe then finishes the handshake politely (Verack, Ready, an empty Addresses for
/// the node's RequestAddresses, END_STREAM), so nodes log an ordinary closed connection rather than a failed
/// handshake. Probes are bounded (`max_concurrent` running, `queue_capacity` waiting), shared while in flight,
/// and cached per target for `cache_ttl_secs`. They never hold up handshakes: sessions call
/// ``probe(_:labelled:)`` from their own task and carry on.
public final class Prober: Sendable {
    private let configuration: SensorConfiguration.Probing
    private let network: KaspaNetwork
    private let userAgent: String
    private let dialer: KaspaDialer
    private let limiter: ProbeLimiter
    private let cache: ProbeCache
    private let dialRate: Mutex<DialRateLimit<ContinuousClock.Instant>>
    private let exemptLoopback: Bool
    private let metrics: SensorMetrics
    private let logger: Logger

    /// Creates a prober. Loopback targets share only the global bounds when `exemptLoopback` (`[limits]
    /// exempt_loopback`): no per-source share of the queue and no dial rate limit.
    public init(
        configuration: SensorConfiguration.Probing,
        network: KaspaNetwork,
        userAgent: String,
        dialer: KaspaDialer,
        metrics: SensorMetrics,
        exemptLoopback: Bool = true,
        logger: Logger
    ) {
        self.exemptLoopback = exemptLoopback
        self.configuration = configuration
        self.network = network
        self.userAgent = userAgent
        var dialer = dialer
        dialer.settingsTimeout = .milliseconds(configuration.http2TimeoutMilliseconds)
        self.dialer = dialer
        self.metrics = metrics
        self.logger = logger
        self.limiter = ProbeLimiter(
            maxRunning: configuration.maxConcurrent,
            maxWaiting: configuration.queueCapacity,
            onChange: { running, waiting in metrics.probeLoad(running: running, waiting: waiting) }
        )
        self.dialRate = Mutex(
            DialRateLimit(
                maxDials: configuration.maxDialsPerTarget, window: .seconds(configuration.dialWindowSeconds)))
        self.cache = ProbeCache(ttl: .seconds(configuration.cacheTTLSeconds), capacity: 100_000)
    }

    /// The request for a peer that connected from `remoteIP` and sent `version`.
    public func request(remoteIP: IPAddress, version: PeerVersion) -> ProbeRequest {
        ProbeRequest(remoteIP: remoteIP, peerVersion: version, defaultPort: network.defaultPort)
    }

    /// Probes the peer and returns its label with the evidence. `labelled` is called once, as soon as the label
    /// is known; the call returns when the probe's connection is closed, which may be a little later.
    @discardableResult
    public func probe(
        _ request: ProbeRequest,
        labelled: @escaping @Sendable (ProbeResult) -> Void = { _ in }
    ) async -> ProbeResult {
        let label = LabelOnce { [metrics] result in
            metrics.probeFinished(
                classification: result.classification.rawValue,
                outcome: result.outcome,
                duration: result.duration,
                fresh: !result.cached && result.attempts > 0
            )
            labelled(result)
        }
        let result = await classify(request, label: label)
        label.deliver(result)
        return result
    }

    private func classify(_ request: ProbeRequest, label: LabelOnce) async -> ProbeResult {
        let target = request.target
        guard configuration.enabled else {
            return .notDialed("probing_disabled", "[probing] enabled = false", target: nil)
        }
        if let refusal = request.refusal {
            return refusal
        }
        guard configuration.allowPrivateTargets || target.ip.isPubliclyRoutable else {
            var result = ProbeResult.notDialed(
                "non_routable_target",
                "\(target.ip) is not publicly routable and [probing] allow_private_targets = false",
                target: target
            )
            result.portSource = request.portSource
            return result
        }
        switch cache.lookup(target, reusable: request.mayReuse) {
        case .hit(var result):
            result.cached = true
            return request.label(result)
        case .wait(let pending):
            var result = await pending.value
            if request.mayReuse(result) {
                result.cached = true
                return request.label(result)
            }
            // Another node's id at this address (or the node restarted): dial again for this peer.
            let fresh = await dialLimited(target) { label.deliver(request.label($0)) }
            cache.store(fresh, for: target, completing: nil)
            return request.label(fresh)
        case .miss(let pending):
            let fresh = await dialLimited(target) { observed in
                pending.complete(observed)
                label.deliver(request.label(observed))
            }
            cache.store(fresh, for: target, completing: pending)
            return request.label(fresh)
        }
    }

    /// Dials `target` within the limiter and returns what it observed (not yet labelled for a peer).
    /// `observedEarly` gets the result as soon as the node's Version proves it, before the polite close.
    private func dialLimited(
        _ target: PeerAddress,
        observedEarly: @escaping @Sendable (ProbeResult) -> Void
    ) async -> ProbeResult {
        let exempt = exemptLoopback && target.ip.isLoopback
        let source = exempt ? ProbeQueue.exempt : SourceKey.source(of: target.ip)
        guard exempt || dialRate.withLock({ $0.allow(source, at: .now) }) else {
            return .notDialed(
                "target_rate_limited",
                "\(source) was dialed \(configuration.maxDialsPerTarget) times in the last "
                    + "\(configuration.dialWindowSeconds) s ([probing] max_dials_per_target)",
                target: target)
        }
        guard await limiter.acquire(for: source) else {
            let reason = Task.isCancelled ? "shutdown" : "probe_queue_full"
            return .notDialed(
                reason, "the probe queue, or \(source)'s share of it, is full ([probing] queue_capacity)",
                target: target)
        }
        defer { limiter.release(source) }
        let start = ContinuousClock.now
        var result = await attempt(target, number: 1, start: start, observedEarly: observedEarly)
        if result.outcome == DialFailure.Kind.timedOut.rawValue, configuration.retryOnTimeout, !Task.isCancelled {
            result = await attempt(target, number: 2, start: start, observedEarly: observedEarly)
        }
        logger.debug(
            "probe finished",
            metadata: [
                "target": "\(target)", "classification": "\(result.classification)", "outcome": "\(result.outcome)",
            ]
        )
        return result
    }

    private func attempt(
        _ target: PeerAddress,
        number: Int,
        start: ContinuousClock.Instant,
        observedEarly: @escaping @Sendable (ProbeResult) -> Void
    ) async -> ProbeResult {
        let connect = Duration.milliseconds(configuration.connectTimeoutMilliseconds)
        let version = Duration.milliseconds(configuration.versionTimeoutMilliseconds)
        // After the node's Version (the label), the rest is courtesy with the node's own deadlines: its Verack
        // follows its Version, its Ready comes within 8 s, its RequestAddresses right after.
        let session = PeerSessionConfiguration(
            versionTimeout: version,
            verackTimeout: version + .seconds(4),
            readyTimeout: .seconds(8),
            afterHandshake: .closeAfterExchange(addressWait: .seconds(2), linger: .zero),
            addressRequestRounds: 0,
            idleTimeout: .seconds(10)
        )
        let template = ProbeResult(
            classification: .unknown, outcome: "", error: nil, target: target, duration: nil, attempts: number,
            cached: false)
        let observer = ProbeObserver { node in
            observedEarly(template.versionReceived(from: node, after: ContinuousClock.now - start))
        }
        let outcome = await dialer.dial(
            target,
            connectTimeout: connect,
            deadline: connect + version + .seconds(20),
            local: LocalVersion(network: network, userAgent: userAgent),
            configuration: session,
            observer: observer
        )
        var base = template
        base.duration = ContinuousClock.now - start
        switch outcome {
        case .notConnected(let failure):
            base.outcome = failure.kind.rawValue
            base.error = failure.message
            switch failure.kind {
            case .refused, .timedOut: base.classification = .private
            case .unreachable, .other: base.classification = .unknown
            }
        case .notHTTP2(let detail):
            base.outcome = ProbeOutcome.notHTTP2
            base.error = detail
        case .connected(let report, let error):
            if let node = report?.peerVersion {
                base = base.versionReceived(
                    from: node, after: observer.versionArrival.map { $0 - start } ?? base.duration ?? .zero)
                if let failure = report?.handshakeFailure {
                    base.error = "after its Version: \(failure)"
                }
            } else {
                base.outcome = ProbeOutcome.noKaspaVersion
                base.error = report.map { "\($0.handshakeOutcome): \($0.disconnectReason)" } ?? error
            }
        }
        return base
    }
}

extension ProbeResult {
    /// This attempt's result once the dialed node's Version arrived `duration` after the probe started: the
    /// address answers as a Kaspa node (``ProbeRequest/label(_:)`` then checks whose).
    fileprivate func versionReceived(from node: PeerVersion, after duration: Duration) -> ProbeResult {
        var result = self
        result.classification = .public
        result.outcome = ProbeOutcome.versionReceived
        result.duration = duration
        result.peerUserAgent = node.userAgent
        result.peerID = node.idHex
        result.peerProtocolVersion = node.protocolVersion
        return result
    }
}

/// Reports the node's Version the moment it arrives: that is when the label is known.
private final class ProbeObserver: PeerSessionObserver {
    private let onVersion: @Sendable (PeerVersion) -> Void
    private let arrival = Mutex<ContinuousClock.Instant?>(nil)

    init(onVersion: @escaping @Sendable (PeerVersion) -> Void) {
        self.onVersion = onVersion
    }

    /// When the node's Version arrived, if it came.
    var versionArrival: ContinuousClock.Instant? { arrival.withLock { $0 } }

    func peerVersionReceived(_ version: PeerVersion) {
        let now = ContinuousClock.now
        arrival.withLock { $0 = now }
        onVersion(version)
    }
}

/// Delivers a probe's label once: early (at the node's Version) or when the probe ends, whichever comes first.
private final class LabelOnce: Sendable {
    private let delivered = Atomic(false)
    private let body: @Sendable (ProbeResult) -> Void

    init(_ body: @escaping @Sendable (ProbeResult) -> Void) {
        self.body = body
    }

    func deliver(_ result: ProbeResult) {
        guard !delivered.exchange(true, ordering: .acquiringAndReleasing) else { return }
        body(result)
    }
}
