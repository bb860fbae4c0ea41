import Foundation
public import SensorPluginAPI

/// The plugin's entry point: returns the static descriptor when the host speaks ABI major 1, else `NULL`.
@_cdecl("sensor_plugin_query_v1")
public func sensorPluginQueryV1(_ hostABIMajor: UInt16, _ hostABIMinor: UInt16) -> UnsafePointer<sensor_plugin>? {
    hostABIMajor == UInt16(SENSOR_ABI_MAJOR) ? UnsafePointer(descriptor) : nil
}

// Safe although mutable memory is shared between threads: Swift initialises globals exactly once under
// swift_once (so concurrent first queries are fine), and nothing writes to the descriptor afterwards. It is never
// freed, because the ABI requires the descriptor and its strings to live for the rest of the process.
nonisolated(unsafe) private let descriptor: UnsafeMutablePointer<sensor_plugin> = {
    let pointer = UnsafeMutablePointer<sensor_plugin>.allocate(capacity: 1)
    pointer.initialize(
        to: sensor_plugin(
            struct_size: sensor_plugin_struct_size(),
            magic: SENSOR_PLUGIN_MAGIC,
            abi_major: UInt16(SENSOR_ABI_MAJOR),
            abi_minor: UInt16(SENSOR_ABI_MINOR),
            // Only events with a field that has no column, and other kinds, keep their JSON: ask for it then.
            flags: SENSOR_PLUGIN_JSON_ON_REQUEST,
            name: UnsafePointer(strdup("sqlite")),
            version: UnsafePointer(strdup("1.0.0")),
            built_with: UnsafePointer(strdup(builtWith)),
            create: { host, config, outInstance in
                guard let host, let outInstance else { return SENSOR_FATAL }
                switch SQLiteSinkInstance.make(host: host, config: config) {
                case .success(let instance):
                    outInstance.pointee = Unmanaged.passRetained(instance).toOpaque()
                    return SENSOR_OK
                case .failure(let status):
                    return status.code
                }
            },
            write_batch: { instance, events, count in
                guard let instance, let events else { return SENSOR_ERROR }
                return Unmanaged<SQLiteSinkInstance>.fromOpaque(instance).takeUnretainedValue()
                    .write(events, count: count)
            },
            flush: { instance, _ in
                guard let instance else { return SENSOR_ERROR }
                return Unmanaged<SQLiteSinkInstance>.fromOpaque(instance).takeUnretainedValue().flush()
            },
            destroy: { instance in
                guard let instance else { return }
                Unmanaged<SQLiteSinkInstance>.fromOpaque(instance).release()
            }
        )
    )
    return pointer
}()

#if compiler(>=6.3)
    private let builtWith = "swift-6.3"
#else
    private let builtWith = "swift"
#endif
