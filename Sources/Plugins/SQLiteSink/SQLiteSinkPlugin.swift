import PluginSupport
public import SensorPluginAPI

/// The plugin's entry point: returns the static descriptor when the host speaks ABI major 1, else `NULL`.
@_cdecl("sensor_plugin_query_v1")
public func sensorPluginQueryV1(_ hostABIMajor: UInt16, _ hostABIMinor: UInt16) -> UnsafePointer<sensor_plugin>? {
    hostABIMajor == UInt16(SENSOR_ABI_MAJOR) ? UnsafePointer(descriptor) : nil
}

// Safe although mutable memory is shared between threads: Swift initialises globals exactly once under
// swift_once (so concurrent first queries are fine), and nothing writes to the descriptor afterwards.
// Only events with a field that has no column, and other kinds, keep their JSON: the sink asks for it then.
nonisolated(unsafe) private let descriptor = SinkDescriptor.make(
    name: "sqlite", version: "1.0.0", flags: SENSOR_PLUGIN_JSON_ON_REQUEST, flushes: true
) { host, config, instance in
    SinkDescriptor.create(host: host, config: config, instance: instance) { host, config in
        SQLiteSinkInstance.make(host: host, config: config).map { $0 as any SinkInstance }
    }
}
