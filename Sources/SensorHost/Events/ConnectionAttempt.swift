public import KaspaP2P
public import SensorEvents

/// A TCP connection to the P2P port that ended without opening a `MessageStream`: it is a `connection` event
/// like any other attempt, with what it sent instead, and it is never probed (it sent no Version, so there is
/// no node id to verify).
public struct ConnectionAttempt: Sendable {
    /// What the connection did instead of opening a stream (the event's `handshake_outcome`).
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Sent nothing at all.
        case silentTCP = "silent_tcp"
        /// Sent bytes that are not the HTTP/2 preface: another protocol.
        case notHTTP2 = "not_http2"
        /// Spoke HTTP/2 but opened no stream before it closed or was closed.
        case noGRPCStream = "no_grpc_stream"
        /// Closed at accept: its source or prefix already held as many connections as `[limits]` allows.
        case refusedAtAccept = "refused_source_limit"
        /// A stream reset when it opened: over the per-connection, per-source or per-prefix stream limit.
        case streamRefused = "stream_refused"
        /// A stream turned away with a Reject: `[network] max_inbound` peers were already connected.
        case overCapacity = "over_capacity"
        /// A stream that ended before its session started: reset at once by the peer (rapid reset), or its first
        /// message could not be read (a length prefix over `max_message_bytes`, a compressed flag without
        /// `grpc-encoding`, bytes that are not a message).
        case streamEndedEarly = "stream_ended_before_session"

        /// True for the kinds that opened no stream by their own doing (the sensor refused none of them).
        public var openedNoStream: Bool {
            switch self {
            case .silentTCP, .notHTTP2, .noGRPCStream: true
            case .refusedAtAccept, .streamRefused, .overCapacity, .streamEndedEarly: false
            }
        }

        /// The `disconnect_reason` of one such attempt.
        func disconnectReason(closedBySensor: Bool) -> String {
            switch self {
            case .silentTCP, .notHTTP2, .noGRPCStream: closedBySensor ? "silent_timeout" : "closed_by_peer"
            case .refusedAtAccept, .streamRefused: "refused_by_sensor"
            case .overCapacity: "over_capacity"
            case .streamEndedEarly: "stream_ended"
            }
        }
    }

    /// What it did.
    public var kind: Kind
    /// Its remote endpoint.
    public var remote: PeerAddress?
    /// The listener that accepted it.
    public var local: PeerAddress?
    /// When it was accepted, µs since the epoch.
    public var connectedAtMicros: Int64
    /// How long it stayed open.
    public var duration: Duration
    /// What it sent first.
    public var firstBytes: FirstBytes
    /// The details, for `handshake_error`.
    public var detail: String
    /// True when the sensor closed it (silent for too long); false when the peer did.
    public var closedBySensor: Bool

    /// The source a flood is summarised by: the IPv4 address, or the IPv6 /64 (one host's usual allocation).
    public var source: String {
        remote.map { SourceKey.source(of: $0.ip).description } ?? "unknown"
    }

    /// The `connection` event of this one attempt.
    public func event(sensorID: String, network: KaspaNetwork) -> SensorEvent {
        SensorEvent(
            kind: .connection, sensorID: sensorID, timeUnixMicros: SensorEvent.nowUnixMicros(),
            fields: Self.fields(
                network: network, local: local, remoteIP: remote?.ip.description ?? "unknown", remotePort: remote?.port,
                kind: kind, detail: detail, connectedAtMicros: connectedAtMicros, lastAtMicros: connectedAtMicros,
                duration: duration, disconnect: kind.disconnectReason(closedBySensor: closedBySensor),
                firstBytes: firstBytes.description, count: 1))
    }

    /// The `connection` event that stands for `count` further attempts of `kind` from `source` (summarised).
    static func summaryEvent(
        sensorID: String, network: KaspaNetwork, source: String, kind: Kind, count: Int, firstAtMicros: Int64,
        lastAtMicros: Int64, lastFirstBytes: FirstBytes?
    ) -> SensorEvent {
        SensorEvent(
            kind: .connection, sensorID: sensorID, timeUnixMicros: SensorEvent.nowUnixMicros(),
            fields: fields(
                network: network, local: nil, remoteIP: source, remotePort: nil, kind: kind,
                detail: "\(count) more attempts of this kind from \(source), summarised (one event per source and "
                    + "interval)",
                connectedAtMicros: firstAtMicros, lastAtMicros: lastAtMicros, duration: nil, disconnect: nil,
                firstBytes: lastFirstBytes?.description, count: count))
    }

    private static func probeError(_ kind: Kind) -> String {
        switch kind {
        case .silentTCP, .notHTTP2, .noGRPCStream: "it opened no gRPC stream and sent no Version: not dialed"
        case .streamEndedEarly: "its stream ended before a Version was read: not dialed"
        case .refusedAtAccept, .streamRefused, .overCapacity: "refused by the sensor before its Version: not dialed"
        }
    }

    private static func fields(
        network: KaspaNetwork, local: PeerAddress?, remoteIP: String, remotePort: UInt16?, kind: Kind,
        detail: String, connectedAtMicros: Int64, lastAtMicros: Int64, duration: Duration?, disconnect: String?,
        firstBytes: String?, count: Int
    ) -> [EventField] {
        [
            EventField("direction", .text("inbound")),
            EventField("network", .text(network.wireName)),
            EventField("local_address", .text(local?.description)),
            EventField("remote_ip", .text(remoteIP)),
            EventField("remote_port", .int(remotePort)),
            EventField("connected_at_us", .int(connectedAtMicros)),
            EventField("handshake_outcome", .text(kind.rawValue)),
            EventField("handshake_error", .text(detail)),
            EventField("classification", .text(Classification.unknown.rawValue)),
            EventField("probe_outcome", .text(ProbeOutcome.noPeerVersion)),
            EventField("probe_error", .text(probeError(kind))),
            EventField("session_duration_ms", .float(duration?.milliseconds)),
            EventField("disconnect_reason", .text(disconnect)),
            EventField("session_open", .bool(false)),
            EventField("first_bytes", .text(firstBytes)),
            EventField("attempt_count", .int(count)),
            EventField("last_attempt_at_us", .int(lastAtMicros)),
        ]
    }
}
