public import AddressBook
import Foundation
public import GRPCCore
public import KaspaP2P
public import Logging
import SensorEvents

/// Handles one inbound `MessageStream`: runs the handshake and the session, dials the peer back as soon as its
/// Version arrives (a peer that sends none has no node id to verify and is not dialed), and emits exactly one
/// `connection` event once the session is over and the label is known (the probe's polite close may still run).
///
/// In `close` mode (the default) the session stays until the address exchange and the probe are done plus the
/// linger, and the event carries the whole session. In `stay` mode the event is emitted as soon as the handshake
/// and the probe are done (`session_open = true`), and a `session_closed` event follows when the peer leaves.
public final class InboundConnectionHandler: Sendable {
    private let configuration: SensorConfiguration
    private let prober: Prober
    private let events: any EventPublishing
    private let metrics: SensorMetrics
    private let logger: Logger
    private let userAgent: String
    private let addressRecorder: AddressRecorder?
    private let attempts: ConnectionAttemptLog?
    /// Sessions of `stay` mode, one of which gives up its slot when the sensor is full.
    private let staying = StayingPeers()

    /// Creates a handler; gossiped addresses go to `addressRecorder` when there is one, peers turned away over
    /// capacity to `attempts` (summarised per source), or one event each without it.
    public init(
        configuration: SensorConfiguration,
        prober: Prober,
        events: any EventPublishing,
        metrics: SensorMetrics,
        logger: Logger,
        userAgent: String,
        addressRecorder: AddressRecorder? = nil,
        attempts: ConnectionAttemptLog? = nil
    ) {
        self.addressRecorder = addressRecorder
        self.attempts = attempts
        self.configuration = configuration
        self.prober = prober
        self.events = events
        self.metrics = metrics
        self.logger = logger
        self.userAgent = userAgent
    }

    /// Runs one connection to its end. `remotePeer`/`localPeer` are grpc-swift's peer descriptions.
    ///
    /// This task lives as long as the peer stays, and a task keeps the most memory it ever used: what lives across
    /// its waits is kept small (the record and the observer are on the heap, the work around them in synchronous
    /// functions), and the types are concrete so that nothing is generic at run time (figure 2b).
    public func handle(
        inbound: RPCAsyncSequence<KaspaMessage, any Error>,
        writer: MessageWriter,
        remotePeer: String,
        localPeer: String
    ) async {
        metrics.connectionOpened()
        defer { metrics.connectionClosed() }
        if metrics.openConnections > configuration.network.maxInbound {
            // Full: in stay mode a peer the eviction policy does not protect makes room, else the newcomer goes.
            if configuration.session.stayConnected, staying.evictOne() {
                metrics.peerEvicted()
            } else {
                try? await writer.write(.reject(reason: "sensor at capacity"))
                rejectOverCapacity(remotePeer: remotePeer, localPeer: localPeer)
                return
            }
        }
        let peer = inboundPeer(remotePeer: remotePeer, localPeer: localPeer)
        let session = PeerSession(local: localVersion, configuration: sessionConfiguration(), observer: peer)
        let stayID =
            configuration.session.stayConnected
            ? peer.record.remote.map { staying.add(session, from: $0.ip, connectedAt: peer.record.connectedAtMicros) }
            : nil
        defer { if let stayID { staying.remove(stayID) } }
        // A discarding group frees the probe's task as soon as it ends, not when the session does.
        await withDiscardingTaskGroup { group in
            group.addTask { [prober] in
                await Self.probe(peer, versions: peer.versions, prober: prober) { session.release() }
            }
            let report = await session.run(inbound: inbound, writer: writer)
            peer.versionSink.finish()
            // The label, as soon as it is known; the probe's polite close may still be running.
            let label = await peer.label.value
            finish(peer, report: report, label: label)
        }
    }

    private var localVersion: LocalVersion {
        LocalVersion(
            network: configuration.network.networkType, userAgent: userAgent,
            address: configuration.sensor.externalAddress)
    }

    private func record(remotePeer: String, localPeer: String) -> ConnectionRecord {
        ConnectionRecord(
            sensorID: configuration.sensor.sensorID,
            network: configuration.network.networkType,
            localAddress: RemotePeerDescription.parse(localPeer),
            remote: RemotePeerDescription.parse(remotePeer),
            remoteDescription: remotePeer,
            connectedAtMicros: SensorEvent.nowUnixMicros()
        )
    }

    private func rejectOverCapacity(remotePeer: String, localPeer: String) {
        metrics.connectionRejectedOverCapacity()
        let detail = "more than \(configuration.network.maxInbound) inbound peers ([network] max_inbound)"
        if let attempts {
            // A flood that finds the sensor full costs two rows per source and interval, not one per attempt.
            attempts.record(
                ConnectionAttempt(
                    kind: .overCapacity, remote: RemotePeerDescription.parse(remotePeer),
                    local: RemotePeerDescription.parse(localPeer), connectedAtMicros: SensorEvent.nowUnixMicros(),
                    duration: .zero, firstBytes: FirstBytes(), detail: detail, closedBySensor: true))
            return
        }
        var record = record(remotePeer: remotePeer, localPeer: localPeer)
        record.handshakeOutcome = HandshakeFailure.Code.capacity.rawValue
        record.handshakeError = detail
        record.probe = .notDialed("not_probed_over_capacity", "the sensor was at capacity", target: nil)
        record.sessionDuration = .zero
        record.disconnectReason = DisconnectReason("over_capacity")
        publish(record.event())
    }

    private func inboundPeer(remotePeer: String, localPeer: String) -> InboundPeer {
        let record = record(remotePeer: remotePeer, localPeer: localPeer)
        let harvest = addressRecorder.flatMap { recorder in
            record.remote.map {
                AddressHarvesting(recorder, from: $0, defaultPort: configuration.network.networkType.defaultPort)
            }
        }
        return InboundPeer(record: record, metrics: metrics, events: events, harvest: harvest)
    }

    /// Dials the peer back once its Version arrives (a peer that sends none is not dialed), completes its label as
    /// soon as the label is known, then `released` (the session may close), and refines it when the dial is over.
    private static func probe(
        _ peer: InboundPeer, versions: AsyncStream<PeerVersion>, prober: Prober,
        released: @escaping @Sendable () -> Void
    ) async {
        var iterator = versions.makeAsyncIterator()
        let version = await iterator.next()
        let label = peer.label
        let deliver: @Sendable (ProbeResult) -> Void = { result in
            label.complete(result)
            released()
        }
        guard let remote = peer.record.remote else {
            deliver(
                .notDialed("no_remote_address", "unparseable remote peer \(peer.record.remoteDescription)", target: nil)
            )
            return
        }
        guard let version else {
            deliver(
                .notDialed(
                    "no_peer_version", "the peer sent no Version: no node id to verify, so it is not dialed",
                    target: nil))
            return
        }
        let final = await prober.probe(prober.request(remoteIP: remote.ip, version: version), labelled: deliver)
        label.refine(final)
    }

    private func finish(_ peer: InboundPeer, report: SessionReport, label: ProbeResult) {
        var record = peer.record
        record.probe = label
        record.apply(report)
        metrics.handshakeFinished(outcome: report.handshakeOutcome, duration: report.handshakeDuration)
        metrics.unsolicitedAddresses(report.unsolicitedAddresses)
        if report.disconnectReason.code == "protocol_error" { metrics.protocolError() }
        var logger = logger
        logger[metadataKey: "peer"] = "\(record.remote?.description ?? record.remoteDescription)"
        logger.info(
            "peer session ended",
            metadata: [
                "handshake": "\(report.handshakeOutcome)",
                "classification": "\(label.classification.rawValue)",
                "user_agent": "\(report.peerVersion?.userAgent ?? "")",
                "reason": "\(report.disconnectReason)",
            ]
        )
        // A settled stay-connected session already published its `connection` event; its end follows under the
        // same event id.
        publish(report.settled ? record.sessionClosedEvent() : record.event())
    }

    private func publish(_ event: SensorEvent) {
        metrics.eventEmitted()
        events.publish(event)
    }

    private func sessionConfiguration() -> PeerSessionConfiguration {
        let session = configuration.session
        let handshake = configuration.handshake
        return PeerSessionConfiguration(
            versionTimeout: .milliseconds(handshake.versionTimeoutMilliseconds),
            verackTimeout: .milliseconds(handshake.verackTimeoutMilliseconds),
            readyTimeout: .milliseconds(handshake.readyTimeoutMilliseconds),
            afterHandshake: session.stayConnected
                ? .stayConnected
                : .closeAfterExchange(
                    addressWait: .milliseconds(session.addressWaitMilliseconds),
                    linger: .milliseconds(session.lingerMilliseconds)
                ),
            addressRequestRounds: session.addressRequestRounds,
            addressRequestSpacing: .milliseconds(session.addressRequestSpacingMilliseconds),
            idleTimeout: .milliseconds(session.idleTimeoutMilliseconds)
        )
    }
}

/// One inbound peer's facts on the heap, shared by the session (as its observer), the probe task and the
/// handler: the connection record as it opened, the label, the Version for the probe. In stay-connected mode it
/// publishes the `connection` event once the session is settled (handshake done and labelled).
private final class InboundPeer: PeerSessionObserver {
    let record: ConnectionRecord
    let label = PendingProbe()
    let versions: AsyncStream<PeerVersion>
    let versionSink: AsyncStream<PeerVersion>.Continuation
    let metrics: SensorMetrics
    let events: any EventPublishing
    let harvest: AddressHarvesting?

    init(record: ConnectionRecord, metrics: SensorMetrics, events: any EventPublishing, harvest: AddressHarvesting?) {
        self.record = record
        (versions, versionSink) = AsyncStream<PeerVersion>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.metrics = metrics
        self.events = events
        self.harvest = harvest
    }

    func peerVersionReceived(_ version: PeerVersion) {
        versionSink.yield(version)
        versionSink.finish()
    }

    func sessionSettled(_ version: PeerVersion, handshakeDuration: Duration) {
        // The release that settles the session comes after the label, so the label is there.
        var record = record
        record.peerVersion = version
        record.handshakeOutcome = "completed"
        record.handshakeDuration = handshakeDuration
        record.probe = label.current
        metrics.eventEmitted()
        events.publish(record.event())
    }

    func addressesReceived(_ addresses: [PeerAddress], invalid: Int, from peer: PeerVersion?) {
        metrics.addressesGossiped(addresses.count)
        harvest?.received(addresses, from: peer)
    }

    func shouldRequestMoreAddresses(afterRounds rounds: Int) -> Bool {
        harvest?.rounds.wantsAnotherRound ?? true
    }
}
