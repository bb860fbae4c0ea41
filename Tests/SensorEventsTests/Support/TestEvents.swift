import Foundation
import SensorEvents

/// Events the C test sink knows how to check (see ``TestSinkSources/configurable``).
enum TestEvents {
    /// The sensor id the tests run the dispatcher as (the C test sink checks it).
    static let sensorID = "sensor-under-test"

    /// Event number `index`: kind `test`, fields index/label/ratio/flag/nothing, time 1_700_000_000 s + index µs.
    static func numbered(_ index: Int) -> SensorEvent {
        SensorEvent(
            kind: SensorEvent.Kind(rawValue: "test"),
            sensorID: sensorID,
            timeUnixMicros: 1_700_000_000_000_000 + Int64(index),
            fields: [
                EventField("index", .int(Int64(index))),
                EventField("label", .text("event-\(index)")),
                EventField("ratio", .float(Double(index) / 2)),
                EventField("flag", .bool(index % 2 == 1)),
                EventField("nothing", .null),
            ]
        )
    }
}
