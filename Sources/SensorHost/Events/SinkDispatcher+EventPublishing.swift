import SensorEvents

extension SinkDispatcher: EventPublishing {}
