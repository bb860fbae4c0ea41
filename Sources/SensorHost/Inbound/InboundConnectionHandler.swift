public import AddressBook
import Foundation
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

    /// Creates a handler; gossiped addresses go to `addressRecorder` when there is one.
    public init(
        configuration: SensorConfiguration,
        prober: Prober,
        events: any EventPublishing,
        metrics: SensorMetrics,
        logger: Logger,
        userAgent: String,
        addressRecorder: AddressRecorder? = nil
    ) {
        self.addressRecorder = addressRecorder
        self.configuration = configuration
        self.prober = prober
        self.events = events
        self.metrics = metrics
        self.logger = logger
        self.userAgent = userAgent
    }

    /// Runs one connection to its end. `remotePeer`/`localPeer` are grpc-swift's peer descriptions.
    public func handle<Inbound: AsyncSequence<KaspaMessage, any Error> & Sendable>(
        inbound: Inbound,
        writer: MessageWriter,
        remotePeer: String,
        localPeer: String
    ) async {
        metrics.connectionOpened()
        defer { metrics.connectionClosed() }
        let remote = RemotePeerDescription.parse(remotePeer)
        var record = ConnectionRecord(
            sensorID: configuration.sensor.sensorID,
            network: configuration.network.networkType,
            localAddress: RemotePeerDescription.parse(localPeer),
            remote: remote,
            remoteDescription: remotePeer,
            connectedAtMicros: SensorEvent.nowUnixMicros()
        )
        var peerLogger = logger
        peerLogger[metadataKey: "peer"] = "\(remote?.description ?? remotePeer)"

        if metrics.openConnections > configuration.network.maxInbound {
            try? await writer.write(.reject(reason: "sensor at capacity"))
            metrics.connectionRejectedOverCapacity()
            record.handshakeOutcome = HandshakeFailure.Code.capacity.rawValue
            record.handshakeError =
                "more than \(configuration.network.maxInbound) inbound peers ([network] max_inbound)"
            record.probe = .notDialed("not_probed_over_capacity", "the sensor was at capacity", target: nil)
            record.sessionDuration = .zero
            record.disconnectReason = DisconnectReason("over_capacity")
            publish(record.event())
            return
        }

        let (versions, versionSink) = AsyncStream<PeerVersion>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let label = PendingProbe()
        let observer = InboundSessionObserver(
            versions: versionSink, record: record, label: label, metrics: metrics, events: events,
            harvest: addressRecorder.flatMap { recorder in
                remote.map {
                    AddressHarvesting(recorder, from: $0, defaultPort: configuration.network.networkType.defaultPort)
                }
            })
        let session = PeerSession(
            local: LocalVersion(
                network: configuration.network.networkType,
                userAgent: userAgent,
                address: configuration.sensor.externalAddress
            ),
            configuration: sessionConfiguration(),
            observer: observer
        )
        // A discarding group frees the probe's task as soon as it ends, not when the session does.
        await withDiscardingTaskGroup { group in
            group.addTask { [prober] in
                await Self.probe(remote, remotePeer: remotePeer, versions: versions, prober: prober, label: label) {
                    session.release()
                }
            }
            let report = await session.run(inbound: inbound, writer: writer)
            versionSink.finish()
            // The label, as soon as it is known; the probe's polite close may still be running.
            record.probe = await label.value
            record.apply(report)
            finish(record, report: report, logger: peerLogger)
        }
    }

    /// Dials the peer back once its Version arrives (a peer that sends none is not dialed), completes `label` as
    /// soon as the label is known, then `released` (the session may close), and refines it when the dial is over.
    private static func probe(
        _ remote: PeerAddress?, remotePeer: String, versions: AsyncStream<PeerVersion>, prober: Prober,
        label: PendingProbe, released: @escaping @Sendable () -> Void
    ) async {
        var iterator = versions.makeAsyncIterator()
        let version = await iterator.next()
        let deliver: @Sendable (ProbeResult) -> Void = { result in
            label.complete(result)
            released()
        }
        guard let remote else {
            deliver(.notDialed("no_remote_address", "unparseable remote peer \(remotePeer)", target: nil))
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

    private func finish(_ record: ConnectionRecord, report: SessionReport, logger: Logger) {
        metrics.handshakeFinished(outcome: report.handshakeOutcome, duration: report.handshakeDuration)
        logger.info(
            "peer session ended",
            metadata: [
                "handshake": "\(report.handshakeOutcome)",
                "classification": "\(record.probe?.classification.rawValue ?? "unknown")",
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

/// Passes the peer's Version to the probe task, gossiped addresses to the address book, and in stay-connected
/// mode publishes the `connection` event once the session is settled (handshake done and labelled).
private struct InboundSessionObserver: PeerSessionObserver {
    let versions: AsyncStream<PeerVersion>.Continuation
    let record: ConnectionRecord
    let label: PendingProbe
    let metrics: SensorMetrics
    let events: any EventPublishing
    let harvest: AddressHarvesting?

    func peerVersionReceived(_ version: PeerVersion) async {
        versions.yield(version)
        versions.finish()
    }

    func sessionSettled(_ version: PeerVersion, handshakeDuration: Duration) async {
        var record = record
        record.peerVersion = version
        record.handshakeOutcome = "completed"
        record.handshakeDuration = handshakeDuration
        record.probe = await label.value
        metrics.eventEmitted()
        events.publish(record.event())
    }

    func addressesReceived(_ addresses: [PeerAddress], invalid: Int, from peer: PeerVersion?) async {
        metrics.addressesGossiped(addresses.count)
        harvest?.received(addresses, from: peer)
    }

    func shouldRequestMoreAddresses(afterRounds rounds: Int) async -> Bool {
        harvest?.rounds.wantsAnotherRound ?? true
    }
}
