import ExportDelivery
import Foundation
import PluginSupport
public import SensorPluginAPI

/// The plugin's entry point: returns the static descriptor when the host speaks ABI major 1, else `NULL`.
@_cdecl("sensor_plugin_query_v1")
public func sensorPluginQueryV1(_ hostABIMajor: UInt16, _ hostABIMinor: UInt16) -> UnsafePointer<sensor_plugin>? {
    hostABIMajor == UInt16(SENSOR_ABI_MAJOR) ? UnsafePointer(descriptor) : nil
}

// Safe although mutable memory is shared between threads: Swift initialises globals exactly once under
// swift_once (so concurrent first queries are fine), and nothing writes to the descriptor afterwards.
nonisolated(unsafe) private let descriptor = PluginDescriptor.make(name: "http-export", version: "2.0.0") {
    host, config, instance in
    PluginDescriptor.create(HTTPExport.self, host: host, config: config, instance: instance)
}

/// The HTTP export sink: each host batch POSTed as one versioned JSON body (``RequestBody``) to one endpoint,
/// inside `write_batch`; the host's journal keeps what is not delivered yet.
enum HTTPExport: ExportPlugin {
    /// Log lines start with this name.
    static let logName = "http export"
    /// The sink's own configuration keys.
    static let keys = HTTPExportSettings.keys

    /// Reads the sink's own keys.
    static func parse(_ reader: SettingsReader, delivery: DeliverySettings) throws(SettingsError) -> HTTPExportSettings
    {
        try HTTPExportSettings(reader)
    }

    /// The deliverer with its own libcurl client (a request in flight ends at the sensor's drain deadline).
    static func makeDeliverer(
        _ settings: HTTPExportSettings, delivery: DeliverySettings, context: DelivererContext
    ) throws(SettingsError) -> any BatchDeliverer {
        let host = context.host
        let client = try HTTPClient(
            options: delivery.clientOptions(responseLimit: HTTPClient.snippetLimit),
            abort: { host.stopDeadlinePassed })
        return HTTPDeliverer(
            settings: settings, batchMaxBytes: delivery.batchMaxBytes, client: client, context: context)
    }
}
