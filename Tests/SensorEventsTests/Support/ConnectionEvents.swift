import Foundation
import SensorEvents

/// Connection events carrying every column of the SQLite schema, with values derived from the index.
enum ConnectionEvents {
    /// Connection event number `index`; `shuffled` reverses the field order (binding must go by name), and the
    /// extra `future_field` (unless `futureField` is false) has no column (it must survive in `event_json`).
    static func connection(_ index: Int, shuffled: Bool = false, futureField: Bool = true) -> SensorEvent {
        var fields: [EventField] = [
            EventField("direction", .text("inbound")),
            EventField("network", .text("kaspa-mainnet")),
            EventField("local_address", .text("0.0.0.0:16111")),
            EventField("remote_ip", .text("10.0.\(index / 256).\(index % 256)")),
            EventField("remote_port", .int(Int64(10_000 + index))),
            EventField("connected_at_us", .int(1_700_000_000_000_000 + Int64(index))),
            EventField("handshake_outcome", .text("completed")),
            EventField("handshake_error", .null),
            EventField("handshake_duration_ms", .float(Double(index) / 4)),
            EventField("protocol_version", .int(7)),
            EventField("user_agent", .text("/kaspad:1.0.\(index)/")),
            EventField("peer_network", .text("kaspa-mainnet")),
            EventField("peer_id", .text("peer-\(index)")),
            EventField("peer_services", .int(3)),
            EventField("peer_timestamp_ms", .int(1_700_000_000_000 + Int64(index))),
            EventField("peer_disable_relay_tx", .bool(index % 2 == 0)),
            EventField("advertised_ip", .text("203.0.113.\(index % 256)")),
            EventField("advertised_port", .int(16111)),
            EventField("advertised_ip_differs", .bool(index % 3 == 0)),
            EventField("classification", .text("reachable")),
            EventField("probe_outcome", .text("connected")),
            EventField("probe_error", .null),
            EventField("probe_target", .text("10.0.0.1:16111")),
            EventField("probe_duration_ms", .float(12.5)),
            EventField("probe_attempts", .int(1)),
            EventField("probe_cached", .bool(false)),
            EventField("probe_user_agent", .text("/kaspad:1.0/")),
            EventField("probe_peer_id", .text("probe-\(index)")),
            EventField("probe_protocol_version", .int(7)),
            EventField("session_duration_ms", .null),
            EventField("disconnect_reason", .null),
            EventField("session_open", .bool(true)),
            EventField("messages_received", .int(Int64(index % 50))),
            EventField("pings_answered", .int(0)),
            EventField("addresses_sent", .int(Int64(index % 7))),
        ]
        if futureField {
            fields.append(EventField("future_field", .text("kept in event_json only")))
        }
        if shuffled {
            fields.reverse()
        }
        return SensorEvent(
            kind: .connection,
            sensorID: "sensor-sqlite",
            timeUnixMicros: 1_700_000_000_000_000 + Int64(index) * 1_000,
            fields: fields
        )
    }

    /// The `session_closed` event for `connection`, with values derived from `index`.
    static func sessionClosed(for connection: SensorEvent, index: Int) -> SensorEvent {
        SensorEvent(
            kind: .sessionClosed,
            sensorID: connection.sensorID,
            timeUnixMicros: connection.timeUnixMicros + 5_000_000,
            fields: [
                EventField("connection_event_id", .text(connection.eventID.uuidString.lowercased())),
                EventField("remote_ip", connection[field: "remote_ip"] ?? .null),
                EventField("remote_port", connection[field: "remote_port"] ?? .null),
                EventField("session_duration_ms", .float(1000.5 + Double(index))),
                EventField("disconnect_reason", .text("peer closed")),
                EventField("messages_received", .int(100 + Int64(index))),
                EventField("pings_answered", .int(Int64(index))),
            ]
        )
    }
}
