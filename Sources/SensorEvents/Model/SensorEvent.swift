public import Foundation

/// One record handed to the sink plugins: an envelope (kind, id, sensor, time) and an ordered list of fields.
///
/// The sinks receive it as a `sensor_event` (see `sensor_plugin.h`): the envelope as members, the fields as
/// `sensor_field`s, and the whole record once more as a JSON object (``jsonObject()``).
public struct SensorEvent: Sendable, Hashable {
    /// The version of the field set. Bump it when a field changes meaning; adding fields does not need a bump.
    public static let currentSchemaVersion: UInt32 = 1

    /// What the event describes: ``Kind/connection`` or ``Kind/sessionClosed``.
    public var kind: Kind
    /// Unique across sensors and runs; receivers deduplicate on it.
    public var eventID: UUID
    /// The sensor that recorded the event.
    public var sensorID: String
    /// When the event was recorded, in microseconds since the Unix epoch (UTC).
    public var timeUnixMicros: Int64
    /// The schema version of ``fields``.
    public var schemaVersion: UInt32
    /// The event's data, in a stable order.
    public var fields: [EventField]

    /// Creates an event.
    public init(
        kind: Kind,
        eventID: UUID = SensorEvent.makeEventID(),
        sensorID: String,
        timeUnixMicros: Int64,
        schemaVersion: UInt32 = SensorEvent.currentSchemaVersion,
        fields: [EventField]
    ) {
        self.kind = kind
        self.eventID = eventID
        self.sensorID = sensorID
        self.timeUnixMicros = timeUnixMicros
        self.schemaVersion = schemaVersion
        self.fields = fields
    }

    /// The value of the field called `name`, if the event has it.
    public subscript(field name: String) -> EventValue? {
        fields.first(where: { $0.name == name })?.value
    }

    /// The kind of an event, as the ABI's `kind` string.
    public struct Kind: RawRepresentable, Sendable, Hashable {
        /// The string sinks see.
        public var rawValue: String
        /// Creates a kind from its string.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// One event per inbound connection attempt, emitted once its classification is known.
        public static let connection = Kind(rawValue: "connection")
        /// Emitted when a connection that was reported while still open (stay-connected mode) closes.
        public static let sessionClosed = Kind(rawValue: "session_closed")
    }
}

extension SensorEvent {
    /// The current time in microseconds since the Unix epoch.
    public static func nowUnixMicros() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1_000
    }
}
