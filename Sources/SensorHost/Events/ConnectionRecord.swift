public import Foundation
public import KaspaP2P
public import SensorEvents

/// Everything known about one inbound connection attempt that opened a `MessageStream`, turned into the
/// `connection` event (schema version 1; connections that never opened a stream are ``ConnectionAttempt``s).
/// The field names are the columns of SQLiteSink's `connection_events` table and the keys of the JSON export.
public struct ConnectionRecord: Sendable {
    /// The event id, shared with the `session_closed` event of a stay-connected session.
    public var eventID = SensorEvent.makeEventID()
    /// The sensor.
    public var sensorID: String
    /// The network the sensor speaks.
    public var network: KaspaNetwork
    /// The listener that accepted the connection.
    public var localAddress: PeerAddress?
    /// The connection's remote endpoint (IPv4-mapped addresses canonicalised).
    public var remote: PeerAddress?
    /// The raw remote description when it could not be parsed.
    public var remoteDescription: String
    /// When the stream opened, µs since the epoch.
    public var connectedAtMicros: Int64
    /// `completed` or the failure code.
    public var handshakeOutcome = "pending"
    /// Failure details.
    public var handshakeError: String?
    /// Time to the peer's Ready or to the failure.
    public var handshakeDuration: Duration?
    /// The peer's Version, when it arrived.
    public var peerVersion: PeerVersion?
    /// The probe's verdict.
    public var probe: ProbeResult?
    /// Session length; `nil` while the session is still open.
    public var sessionDuration: Duration?
    /// Why the session ended; `nil` while it is still open.
    public var disconnectReason: DisconnectReason?
    /// Message counters.
    public var messagesReceived = 0
    /// Pings answered.
    public var pingsAnswered = 0
    /// Addresses replies sent (one per RequestAddresses of the peer).
    public var addressesSent = 0
    /// Valid addresses the peer gossiped.
    public var addressesReceived = 0

    /// Creates a record for a connection that just opened.
    public init(
        sensorID: String,
        network: KaspaNetwork,
        localAddress: PeerAddress?,
        remote: PeerAddress?,
        remoteDescription: String,
        connectedAtMicros: Int64
    ) {
        self.sensorID = sensorID
        self.network = network
        self.localAddress = localAddress
        self.remote = remote
        self.remoteDescription = remoteDescription
        self.connectedAtMicros = connectedAtMicros
    }

    /// Takes the session's results.
    public mutating func apply(_ report: SessionReport) {
        handshakeOutcome = report.handshakeOutcome
        handshakeError = report.handshakeFailure?.message
        handshakeDuration = report.handshakeDuration
        peerVersion = report.peerVersion ?? peerVersion
        sessionDuration = report.sessionDuration
        disconnectReason = report.disconnectReason
        messagesReceived = report.messagesReceived
        pingsAnswered = report.pingsAnswered
        addressesSent = report.addressesSent
        addressesReceived = report.addressesReceived
    }

    /// The `connection` event.
    public func event(at timeUnixMicros: Int64 = SensorEvent.nowUnixMicros()) -> SensorEvent {
        let advertised = peerVersion?.address
        let fields: [EventField] = [
            EventField("direction", .text("inbound")),
            EventField("network", .text(network.wireName)),
            EventField("local_address", .text(localAddress?.description)),
            EventField("remote_ip", .text(remote?.ip.description ?? remoteDescription)),
            EventField("remote_port", .int(remote?.port)),
            EventField("connected_at_us", .int(connectedAtMicros)),
            EventField("handshake_outcome", .text(handshakeOutcome)),
            EventField("handshake_error", .text(handshakeError)),
            EventField("handshake_duration_ms", .float(handshakeDuration?.milliseconds)),
            EventField("protocol_version", .int(peerVersion?.protocolVersion)),
            EventField("user_agent", .text(peerVersion?.userAgent)),
            EventField("peer_network", .text(peerVersion?.network)),
            EventField("peer_id", .text(peerVersion?.idHex)),
            EventField("peer_services", .int(peerVersion.map { Int64(bitPattern: $0.services) })),
            EventField("peer_timestamp_ms", .int(peerVersion?.timestampMillis)),
            EventField("peer_disable_relay_tx", .bool(peerVersion?.disableRelayTx)),
            EventField("advertised_ip", .text(advertised?.ip.description)),
            EventField("advertised_port", .int(advertised?.port)),
            EventField("advertised_ip_differs", .bool(advertised.map { $0.ip != remote?.ip })),
            EventField("advertised_address_error", .text(peerVersion?.addressError)),
            EventField("advertised_address_unspecified", .bool(peerVersion?.addressUnspecified)),
            EventField("classification", .text(probe?.classification.rawValue ?? Classification.unknown.rawValue)),
            EventField("probe_outcome", .text(probe?.outcome)),
            EventField("probe_error", .text(probe?.error)),
            EventField("probe_target", .text(probe?.target?.description)),
            EventField("probe_port_source", .text(probe?.portSource?.rawValue)),
            EventField("probe_duration_ms", .float(probe?.duration?.milliseconds)),
            EventField("probe_attempts", .int(probe?.attempts)),
            EventField("probe_cached", .bool(probe?.cached)),
            EventField("probe_user_agent", .text(probe?.peerUserAgent)),
            EventField("probe_peer_id", .text(probe?.peerID)),
            EventField("probe_protocol_version", .int(probe?.peerProtocolVersion)),
            EventField("session_duration_ms", .float(sessionDuration?.milliseconds)),
            EventField("disconnect_reason", .text(disconnectReason?.description)),
            EventField("session_open", .bool(sessionDuration == nil)),
            EventField("messages_received", .int(messagesReceived)),
            EventField("pings_answered", .int(pingsAnswered)),
            EventField("addresses_sent", .int(addressesSent)),
            EventField("addresses_received", .int(addressesReceived)),
        ]
        return SensorEvent(
            kind: .connection, eventID: eventID, sensorID: sensorID, timeUnixMicros: timeUnixMicros, fields: fields)
    }

    /// The `session_closed` event of a session reported while open (stay-connected mode).
    public func sessionClosedEvent(at timeUnixMicros: Int64 = SensorEvent.nowUnixMicros()) -> SensorEvent {
        SensorEvent(
            kind: .sessionClosed,
            sensorID: sensorID,
            timeUnixMicros: timeUnixMicros,
            fields: [
                EventField("connection_event_id", .text(eventID.uuidString.lowercased())),
                EventField("remote_ip", .text(remote?.ip.description ?? remoteDescription)),
                EventField("remote_port", .int(remote?.port)),
                EventField("session_duration_ms", .float(sessionDuration?.milliseconds)),
                EventField("disconnect_reason", .text(disconnectReason?.description)),
                EventField("messages_received", .int(messagesReceived)),
                EventField("pings_answered", .int(pingsAnswered)),
                EventField("addresses_received", .int(addressesReceived)),
            ]
        )
    }
}
