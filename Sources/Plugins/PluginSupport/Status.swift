import Foundation
package import SensorPluginAPI

/// A `SENSOR_*` status as an `Error`, so `create()` failures travel in a `Result`.
package struct Status: Error {
    /// The `SENSOR_*` status.
    package let code: Int32

    /// Wraps a status.
    package init(_ code: Int32) {
        self.code = code
    }
}

extension sensor_str {
    /// Whether the string's bytes equal `literal`.
    package func equals(_ literal: StaticString) -> Bool {
        guard len == literal.utf8CodeUnitCount, let ptr else { return false }
        return memcmp(ptr, literal.utf8Start, len) == 0
    }

    /// The bytes, or an empty buffer for a NULL pointer.
    package var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: ptr, count: ptr == nil ? 0 : len)
    }
}
