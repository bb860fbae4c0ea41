package import SensorPluginAPI

/// One event of the host batch in progress, as the host passed it (borrowed: valid until `write_batch`
/// returns). Export sinks read the envelope and the typed fields from it, or its JSON through the host.
package struct ExportEvent {
    /// The host's event.
    package let pointer: UnsafePointer<sensor_event>

    /// Wraps one of the batch's events.
    package init(_ pointer: UnsafePointer<sensor_event>) {
        self.pointer = pointer
    }

    /// Its place in the host's sequence (strictly increasing within one host run).
    package var sequence: UInt64 { pointer.pointee.sequence }

    /// The event id (a UUID): the receivers' idempotency key and the Firebase document id.
    package var eventID: String { pointer.pointee.event_id.string }

    /// The typed fields, in the host's order.
    package var fields: UnsafeBufferPointer<sensor_field> {
        UnsafeBufferPointer(start: pointer.pointee.fields, count: pointer.pointee.field_count)
    }
}

extension sensor_str {
    /// The bytes (borrowed for as long as the `sensor_str` is valid).
    package var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: ptr, count: ptr == nil ? 0 : len)
    }

    /// The text, copied (invalid UTF-8 repaired).
    package var string: String {
        String(decoding: bytes, as: UTF8.self)
    }
}
