import Foundation
import KaspaP2P
import SensorEvents
import SensorHost

/// Realistic `connection` events (the full schema-1 field set, as the sensor emits them) for the pipeline
/// benchmark: one template, a fresh event id and time per event.
struct SampleEvents {
    private let template: SensorEvent

    /// Builds the template from a completed inbound handshake labelled private.
    init() {
        var record = ConnectionRecord(
            sensorID: "bench",
            network: .mainnet,
            localAddress: PeerAddress("127.0.0.1:16111"),
            remote: PeerAddress("203.0.113.7:53122"),
            remoteDescription: "ipv4:203.0.113.7:53122",
            connectedAtMicros: SensorEvent.nowUnixMicros()
        )
        record.handshakeOutcome = "completed"
        record.handshakeDuration = .milliseconds(12)
        record.sessionDuration = .milliseconds(7200)
        record.disconnectReason = .lingerElapsed
        record.messagesReceived = 6
        record.addressesSent = 1
        var event = record.event()
        // The probe's verdict, as a refused dial-back fills it in.
        let probe: [String: EventValue] = [
            "classification": .text("private"), "probe_outcome": .text("refused"),
            "probe_error": .text("connection refused"), "probe_target": .text("203.0.113.7:16111"),
            "probe_duration_ms": .float(3.2), "probe_attempts": .int(1), "probe_cached": .bool(false),
        ]
        event.fields = event.fields.map { field in probe[field.name].map { EventField(field.name, $0) } ?? field }
        template = event
    }

    /// The `index`th event: the template with the current time and a new id.
    func event(_ index: Int) -> SensorEvent {
        var event = template
        event.timeUnixMicros = SensorEvent.nowUnixMicros()
        // As the sensor makes them (ConnectionRecord): time-ordered.
        event.eventID = SensorEvent.makeEventID(unixMicros: event.timeUnixMicros)
        return event
    }
}
