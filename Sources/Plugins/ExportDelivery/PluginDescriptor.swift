import Foundation
package import SensorPluginAPI

/// The static `sensor_plugin` descriptor of an export sink: `write_batch` and `destroy` are the shared
/// ``ExportInstance``'s, `create` is the plugin's (it names its ``ExportPlugin`` type). There is no `flush`:
/// an export sink holds nothing that is not delivered when `write_batch` returns.
package enum PluginDescriptor {
    /// The type of the descriptor's `create` callback.
    package typealias Create =
        @convention(c) (
            UnsafePointer<sensor_host_api>?, sensor_str, UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        ) -> Int32

    /// A descriptor that is never freed (the ABI requires it and its strings to live for the rest of the process).
    /// Its flags always include `SENSOR_PLUGIN_NEEDS_JOURNAL`: an export sink keeps no events of its own.
    package static func make(
        name: String, version: String, flags: UInt32 = 0, create: Create
    ) -> UnsafeMutablePointer<sensor_plugin> {
        let pointer = UnsafeMutablePointer<sensor_plugin>.allocate(capacity: 1)
        pointer.initialize(
            to: sensor_plugin(
                struct_size: sensor_plugin_struct_size(),
                magic: SENSOR_PLUGIN_MAGIC,
                abi_major: UInt16(SENSOR_ABI_MAJOR),
                abi_minor: UInt16(SENSOR_ABI_MINOR),
                flags: flags | SENSOR_PLUGIN_NEEDS_JOURNAL,
                name: UnsafePointer(strdup(name)),
                version: UnsafePointer(strdup(version)),
                built_with: UnsafePointer(strdup(builtWith)),
                create: create,
                write_batch: { instance, events, count in
                    guard let instance, let events else { return SENSOR_ERROR }
                    return Unmanaged<ExportInstance>.fromOpaque(instance).takeUnretainedValue()
                        .write(events, count: count)
                },
                flush: nil,
                destroy: { instance in
                    guard let instance else { return }
                    Unmanaged<ExportInstance>.fromOpaque(instance).release()
                }
            )
        )
        return pointer
    }

    /// The body of a plugin's `create` callback: makes an ``ExportInstance`` running `Plugin`'s deliverer.
    package static func create<Plugin: ExportPlugin>(
        _ plugin: Plugin.Type,
        host: UnsafePointer<sensor_host_api>?,
        config: sensor_str,
        instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) -> Int32 {
        guard let host, let instance else { return SENSOR_FATAL }
        switch ExportInstance.make(plugin, host: host, config: config) {
        case .success(let made):
            instance.pointee = Unmanaged.passRetained(made).toOpaque()
            return SENSOR_OK
        case .failure(let status):
            return status.code
        }
    }
}

#if compiler(>=6.3)
    private let builtWith = "swift-6.3"
#else
    private let builtWith = "swift"
#endif
