public import SensorEvents

extension SensorEvent {
    /// The event id as the JSON carries it (lowercase UUID).
    public var id: String { eventID.uuidString.lowercased() }
}
