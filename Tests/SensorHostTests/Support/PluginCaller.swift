import Foundation
import SensorEvents
import SensorPluginAPI

/// Stands in for the host: calls one plugin's callbacks directly, on the calling thread, and keeps what the
/// plugin logs. Not thread-safe; one test uses one caller.
final class PluginCaller {
    /// The loaded plugin.
    let plugin: LoadedPlugin
    /// Every line the plugin logged through `host->log`.
    private(set) var logLines: [String] = []
    /// Every wait the plugin asked for through `host->retry_after`, in milliseconds.
    private(set) var retryAfters: [Int64] = []
    /// Every refusal through `host->reject_event`: the event's position in the batch (`nil`: the whole batch), the
    /// code and the reason.
    private(set) var refusals: [(position: Int?, code: Int32, reason: String)] = []
    /// The events of the `write_batch` in progress, to tell their positions.
    private var batch: UnsafePointer<sensor_event>?
    private let api: UnsafeMutablePointer<sensor_host_api>

    /// Loads the plugin at `library`. The host API offers `log`, `retry_after` and `reject_event` (recorded); the
    /// other functions are NULL.
    init(library: String) throws {
        plugin = try PluginLoader().load(path: library, sinkName: "direct")
        api = .allocate(capacity: 1)
        api.initialize(
            to: sensor_host_api(
                struct_size: sensor_host_api_struct_size(),
                abi_major: UInt16(SENSOR_ABI_MAJOR),
                abi_minor: UInt16(SENSOR_ABI_MINOR),
                host_context: nil,
                instance_name: sensor_str(ptr: nil, len: 0),
                sensor_id: sensor_str(ptr: nil, len: 0),
                log: { context, _, message, length in
                    guard let context, let message else { return }
                    let caller = Unmanaged<PluginCaller>.fromOpaque(context).takeUnretainedValue()
                    let bytes = UnsafeRawBufferPointer(start: message, count: length)
                    caller.logLines.append(String(decoding: bytes, as: UTF8.self))
                },
                add_counter: nil,
                set_gauge: nil,
                event_json: nil,
                retry_after: { context, milliseconds in
                    guard let context else { return }
                    Unmanaged<PluginCaller>.fromOpaque(context).takeUnretainedValue().retryAfters.append(milliseconds)
                },
                reject_event: { context, event, code, reason, length in
                    guard let context else { return }
                    let caller = Unmanaged<PluginCaller>.fromOpaque(context).takeUnretainedValue()
                    let text = String(decoding: UnsafeRawBufferPointer(start: reason, count: length), as: UTF8.self)
                    let position = event.flatMap { event in caller.batch.map { event - $0 } }
                    caller.refusals.append((position, code, text))
                },
                stop_deadline: nil
            )
        )
        api.pointee.host_context = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        api.deinitialize(count: 1)
        api.deallocate()
    }

    /// Calls `create` with `json`; returns its status and the instance.
    func create(_ json: String) -> (status: Int32, instance: UnsafeMutableRawPointer?) {
        var instance: UnsafeMutableRawPointer?
        var json = json
        let status = json.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { text in
                plugin.descriptor.create!(api, sensor_str(ptr: text.baseAddress, len: text.count), &instance)
            }
        }
        return (status, instance)
    }

    /// Calls `write_batch` with one event per element of `jsons` (only `json` and the envelope numbers set).
    func write(_ instance: UnsafeMutableRawPointer?, _ jsons: [String]) -> Int32 {
        let texts = jsons.map { strdup($0)! }
        defer { texts.forEach { free($0) } }
        let empty = sensor_str(ptr: nil, len: 0)
        let events = texts.enumerated().map { index, text in
            sensor_event(
                struct_size: sensor_event_struct_size(), schema_version: 1, sequence: UInt64(index + 1),
                time_unix_micros: 0, kind: empty, event_id: empty, sensor_id: empty,
                json: sensor_str(ptr: text, len: strlen(text)), fields: nil, field_count: 0)
        }
        return events.withUnsafeBufferPointer { buffer in
            let pointers: [UnsafePointer<sensor_event>?] = buffer.indices.map { buffer.baseAddress! + $0 }
            batch = buffer.baseAddress
            defer { batch = nil }
            return pointers.withUnsafeBufferPointer { list in
                plugin.descriptor.write_batch!(instance, list.baseAddress, list.count)
            }
        }
    }

    /// Calls `flush` (which must exist), then `destroy`.
    func flushAndDestroy(_ instance: UnsafeMutableRawPointer?) -> Int32 {
        let status = plugin.descriptor.flush!(instance, Int64(Date().timeIntervalSince1970 * 1_000_000) + 1_000_000)
        plugin.descriptor.destroy!(instance)
        return status
    }
}
