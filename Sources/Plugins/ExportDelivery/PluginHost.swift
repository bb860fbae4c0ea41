package import Foundation
package import SensorPluginAPI

/// An export sink's side of the host API: log lines through `host->log` (which copies the text), plugin counters
/// and gauges, and the ABI 1.2 calls through which the host owns durability: `retry_after`, `reject_event` and
/// `stop_deadline` (through the header's inline wrappers, which check that the host has them).
///
/// `log`, the metrics and ``stopDeadlinePassed`` may be used from any thread; ``retry(after:)`` and
/// ``reject(_:code:reason:)`` only inside `write_batch`, on its thread.
package struct PluginHost: @unchecked Sendable {
    /// The host API of the instance; valid until destroy() returns.
    package let host: UnsafePointer<sensor_host_api>
    /// What every line starts with, e.g. "http export: ".
    package let prefix: String

    /// The host for `host`, with log lines starting with `name` and a colon.
    package init(host: UnsafePointer<sensor_host_api>, name: String) {
        self.host = host
        self.prefix = name + ": "
    }

    /// Whether the host has the ABI 1.2 functions (it keeps the journal, retries and dead letters): the export
    /// sinks keep no events of their own, so they need them.
    package var ownsDurability: Bool {
        let end = MemoryLayout<sensor_host_api>.offset(of: \sensor_host_api.stop_deadline)! + MemoryLayout<Int>.size
        return Int(host.pointee.struct_size) >= end && host.pointee.reject_event != nil
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

    /// Asks the host to wait `seconds` before it retries the batch in progress (a server's `Retry-After`).
    package func retry(after seconds: TimeInterval) {
        _ = sensor_host_retry_after(host, Int64(min(max(seconds, 0), 86_400) * 1000))
    }

    /// Tells the host that `event`, one of the batch in progress, is refused for good: it goes to the sink's
    /// dead-letter file with `code` and `reason`.
    package func reject(_ event: UnsafePointer<sensor_event>, code: Int, reason: String) {
        var reason = reason
        reason.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                _ = sensor_host_reject_event(host, event, Int32(clamping: code), text.baseAddress, text.count)
            }
        }
    }

    /// Whether the sensor is stopping and its drain deadline has passed: a request in flight is abandoned (the
    /// batch stays in the journal). Any thread; checked by libcurl's progress callback.
    package var stopDeadlinePassed: Bool {
        let deadline = sensor_host_stop_deadline(host)
        guard deadline != 0 else { return false }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000 >= deadline
    }
}
