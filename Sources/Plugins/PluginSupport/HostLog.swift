package import SensorPluginAPI

/// Writes log lines through the host's `log` callback (which copies the text).
package struct HostLog {
    /// The host API of the instance; valid until destroy() returns.
    package let host: UnsafePointer<sensor_host_api>

    /// Writes through `host`.
    package init(host: UnsafePointer<sensor_host_api>) {
        self.host = host
    }

    /// Logs `message` at `level` (a `SENSOR_LOG_*` value); a no-op if the host offers no log callback.
    package func write(_ level: Int32, _ message: String) {
        guard let log = host.pointee.log else { return }
        var message = message
        message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                log(host.pointee.host_context, level, text.baseAddress, text.count)
            }
        }
    }
}
