import AddressBook
import Foundation
public import KaspaP2P
import Synchronization

/// Visits one node as an outbound peer: dial, handshake (``PeerSession`` through ``KaspaDialer``), RequestAddresses
/// rounds until one brings nothing new, answer the node's own RequestAddresses, close politely.
public struct NodeVisitor: Sendable {
    /// The dialer.
    public var dialer: KaspaDialer
    /// Timeouts, rounds and identity.
    public var configuration: CrawlConfiguration
    /// `Version.address` to advertise (self-announcement), or `nil`.
    public var advertisedAddress: PeerAddress?

    /// Creates a visitor.
    public init(dialer: KaspaDialer, configuration: CrawlConfiguration, advertisedAddress: PeerAddress? = nil) {
        self.dialer = dialer
        self.configuration = configuration
        self.advertisedAddress = advertisedAddress
    }

    /// Visits `target` within the node timeout.
    public func visit(_ target: PeerAddress) async -> NodeVisit {
        let startedAtMicros = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let observer = VisitObserver(startedAt: .now)
        let timeout = configuration.nodeTimeout
        let session = PeerSessionConfiguration(
            versionTimeout: timeout,
            verackTimeout: timeout,
            readyTimeout: timeout,
            afterHandshake: .closeAfterExchange(addressWait: timeout, linger: .milliseconds(100)),
            addressRequestRounds: configuration.addressRounds,
            addressRequestSpacing: configuration.roundSpacing,
            idleTimeout: timeout
        )
        let outcome = await dialer.dial(
            target,
            connectTimeout: configuration.connectTimeout,
            deadline: timeout,
            local: LocalVersion(
                network: configuration.network, userAgent: configuration.userAgent, address: advertisedAddress),
            configuration: session,
            observer: observer
        )
        var visit = NodeVisit(
            address: target, reachable: false, failure: nil, failureDetail: nil, peerVersion: nil, latency: nil,
            responses: observer.responses, visitedAtMicros: startedAtMicros)
        (visit.peerVersion, visit.latency) = observer.version
        visit.reachable = visit.peerVersion != nil
        switch outcome {
        case .notConnected(let failure):
            visit.failure = failure.kind.rawValue
            visit.failureDetail = failure.message
        case .notHTTP2(let detail):
            visit.failure = "not_http2"
            visit.failureDetail = detail
        case .connected(let report, let error):
            if let report, let failure = report.handshakeFailure, report.peerVersion != nil {
                visit.failure = "handshake_failed"
                visit.failureDetail = failure.description
            } else if !visit.reachable {
                visit.failure = "no_kaspa_version"
                visit.failureDetail = error ?? report?.handshakeFailure?.description ?? "no Version"
            }
        }
        return visit
    }
}

/// Collects the node's Version (with its latency) and its `Addresses` answers; asks for another round only while
/// the previous one brought new addresses.
private final class VisitObserver: PeerSessionObserver {
    private let startedAt: ContinuousClock.Instant
    private let harvest = AddressHarvest()
    private let state = Mutex<(version: PeerVersion?, latency: Duration?, responses: [NodeVisit.Response])>(
        (nil, nil, []))

    init(startedAt: ContinuousClock.Instant) {
        self.startedAt = startedAt
    }

    var version: (PeerVersion?, Duration?) { state.withLock { ($0.version, $0.latency) } }
    var responses: [NodeVisit.Response] { state.withLock { $0.responses } }

    func peerVersionReceived(_ version: PeerVersion) {
        let latency = ContinuousClock.now - startedAt
        state.withLock {
            $0.version = version
            $0.latency = latency
        }
    }

    func addressesReceived(_ addresses: [PeerAddress], invalid: Int, from peer: PeerVersion?) {
        harvest.record(addresses)
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        state.withLock { $0.responses.append(NodeVisit.Response(addresses: addresses, receivedAtMicros: now)) }
    }

    func shouldRequestMoreAddresses(afterRounds rounds: Int) -> Bool {
        harvest.wantsAnotherRound
    }
}
