/// The field columns of a database sink's `connection_events` table: one per field of a `connection` event, named
/// as the field. SQLiteSink and PostgresSink keep the same names, so one report query reads either store.
///
/// Grouped by the event schema change that brought them: a store's migrations add each group in one version.
/// Append only; a released column is never renamed or dropped.
package enum EventColumns {
    /// What a column holds; each store maps it to its own SQL type.
    package enum Kind: Sendable {
        case text
        case integer
        case real
        case boolean
    }

    /// One field column.
    package struct Column: Sendable {
        /// The field and column name.
        package let name: String
        /// What it holds.
        package let kind: Kind
    }

    /// The fields of the first event schema.
    package static let initial: [Column] =
        ([
            ("direction", .text), ("network", .text), ("local_address", .text), ("remote_ip", .text),
            ("remote_port", .integer), ("connected_at_us", .integer), ("handshake_outcome", .text),
            ("handshake_error", .text), ("handshake_duration_ms", .real), ("protocol_version", .integer),
            ("user_agent", .text), ("peer_network", .text), ("peer_id", .text), ("peer_services", .integer),
            ("peer_timestamp_ms", .integer), ("peer_disable_relay_tx", .boolean), ("advertised_ip", .text),
            ("advertised_port", .integer), ("advertised_ip_differs", .boolean), ("advertised_address_error", .text),
            ("classification", .text),
            ("probe_outcome", .text), ("probe_error", .text), ("probe_target", .text),
            ("probe_duration_ms", .real), ("probe_attempts", .integer), ("probe_cached", .boolean),
            ("probe_user_agent", .text), ("probe_peer_id", .text), ("probe_protocol_version", .integer),
            ("session_duration_ms", .real), ("disconnect_reason", .text), ("session_open", .boolean),
            ("messages_received", .integer), ("pings_answered", .integer), ("addresses_sent", .integer),
            ("addresses_received", .integer),
        ] as [(String, Kind)]).map { Column(name: $0.0, kind: $0.1) }

    /// The label's evidence (where the probed port came from, a Version that named no address) and the
    /// connections that never opened a gRPC stream (what they sent, and how many attempts a summary row stands for).
    package static let labelEvidence: [Column] =
        ([
            ("probe_port_source", .text), ("advertised_address_unspecified", .boolean),
            ("first_bytes", .text), ("attempt_count", .integer), ("last_attempt_at_us", .integer),
        ] as [(String, Kind)]).map { Column(name: $0.0, kind: $0.1) }

    /// Every field column, in table order.
    package static var all: [Column] { initial + labelEvidence }

    /// The fields of a `session_closed` event that update its connection's row, and the field naming that row.
    package static let sessionUpdates = [
        "session_duration_ms", "disconnect_reason", "messages_received", "pings_answered",
    ]
    /// The field of a `session_closed` event that names its `connection` event.
    package static let sessionConnectionField = "connection_event_id"
}
