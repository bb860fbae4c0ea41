import ExportDelivery
import Foundation
public import SensorPluginAPI

/// The plugin's entry point: returns the static descriptor when the host speaks ABI major 1, else `NULL`.
@_cdecl("sensor_plugin_query_v1")
public func sensorPluginQueryV1(_ hostABIMajor: UInt16, _ hostABIMinor: UInt16) -> UnsafePointer<sensor_plugin>? {
    hostABIMajor == UInt16(SENSOR_ABI_MAJOR) ? UnsafePointer(descriptor) : nil
}

// Safe although mutable memory is shared between threads: Swift initialises globals exactly once under
// swift_once (so concurrent first queries are fine), and nothing writes to the descriptor afterwards.
nonisolated(unsafe) private let descriptor = PluginDescriptor.make(name: "http-export", version: "1.0.0") {
    host, config, instance in
    PluginDescriptor.create(HTTPExport.self, host: host, config: config, instance: instance)
}

/// The HTTP export sink: batches of events POSTed as one versioned JSON body (``RequestBody``) to one endpoint.
enum HTTPExport: ExportPlugin {
    /// Log lines start with this name.
    static let logName = "http export"
    /// The default spool folder's prefix.
    static let spoolPrefix = "http-spool"
    /// The most events per batch.
    static let maxBatchEvents = 100_000
    /// The sink's own configuration keys.
    static let keys = HTTPExportSettings.keys

    /// Reads the sink's own keys.
    static func parse(_ reader: SettingsReader, delivery: DeliverySettings) throws(SettingsError) -> HTTPExportSettings
    {
        try HTTPExportSettings(reader)
    }

    /// The deliverer with its own libcurl client (aborted by the instance's stop flag).
    static func makeDeliverer(
        _ settings: HTTPExportSettings, delivery: DeliverySettings, context: DelivererContext
    ) throws(SettingsError) -> any BatchDeliverer {
        let client = try HTTPClient(
            options: delivery.clientOptions(responseLimit: HTTPClient.snippetLimit), abort: context.stop)
        return HTTPDeliverer(settings: settings, client: client, sensorID: context.sensorID)
    }
}
