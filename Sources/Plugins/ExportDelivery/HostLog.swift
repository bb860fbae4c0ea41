package import SensorPluginAPI

/// Reports to the host: log lines through `host->log` (which copies the text), plugin counters and gauges
/// through `host->add_counter` and `host->set_gauge`. The ABI allows these calls from any thread.
package struct HostLog: @unchecked Sendable {
    /// The host API of the instance; valid until destroy() returns.
    package let host: UnsafePointer<sensor_host_api>
    /// What every line starts with, e.g. "http export: ".
    package let prefix: String

    /// A log for `host` whose lines start with `name` and a colon.
    package init(host: UnsafePointer<sensor_host_api>, name: String) {
        self.host = host
        self.prefix = name + ": "
    }

    /// Logs `message` at `level` (a `SENSOR_LOG_*` value), after the prefix.
    package func write(_ level: Int32, _ message: String) {
        guard let log = host.pointee.log else { return }
        var message = prefix + message
        message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                log(host.pointee.host_context, level, text.baseAddress, text.count)
            }
        }
    }

    /// Adds `delta` to the plugin counter `name` (`sensor_sink_plugin_counter_total{sink,name}`).
    package func count(_ name: StaticString, _ delta: UInt64 = 1) {
        guard delta > 0, let addCounter = host.pointee.add_counter else { return }
        name.withUTF8Buffer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                addCounter(host.pointee.host_context, text.baseAddress, text.count, delta)
            }
        }
    }

    /// Sets the plugin gauge `name` (`sensor_sink_plugin_gauge{sink,name}`).
    package func gauge(_ name: StaticString, _ value: Double) {
        guard let setGauge = host.pointee.set_gauge else { return }
        name.withUTF8Buffer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                setGauge(host.pointee.host_context, text.baseAddress, text.count, value)
            }
        }
    }
}
