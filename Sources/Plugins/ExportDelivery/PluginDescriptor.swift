import Foundation
package import PluginSupport
package import SensorPluginAPI

/// The static `sensor_plugin` descriptor of an export sink: ``PluginSupport/SinkDescriptor``'s, with the shared
/// ``ExportInstance`` behind `write_batch` and `destroy`; `create` is the plugin's (it names its ``ExportPlugin``
/// type). There is no `flush`: an export sink holds nothing that is not delivered when `write_batch` returns.
package enum PluginDescriptor {
    /// A descriptor that is never freed (the ABI requires it and its strings to live for the rest of the process).
    /// Its flags always include `SENSOR_PLUGIN_NEEDS_JOURNAL`: an export sink keeps no events of its own.
    package static func make(
        name: String, version: String, flags: UInt32 = 0, create: SinkDescriptor.Create
    ) -> UnsafeMutablePointer<sensor_plugin> {
        SinkDescriptor.make(
            name: name, version: version, flags: flags | SENSOR_PLUGIN_NEEDS_JOURNAL, flushes: false, create: create)
    }

    /// The body of a plugin's `create` callback: makes an ``ExportInstance`` running `Plugin`'s deliverer.
    package static func create<Plugin: ExportPlugin>(
        _ plugin: Plugin.Type,
        host: UnsafePointer<sensor_host_api>?,
        config: sensor_str,
        instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) -> Int32 {
        SinkDescriptor.create(host: host, config: config, instance: instance) { host, config in
            ExportInstance.make(plugin, host: host, config: config).map { $0 as any SinkInstance }
        }
    }
}
