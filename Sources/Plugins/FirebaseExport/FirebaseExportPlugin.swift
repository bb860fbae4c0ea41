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
// swift_once (so concurrent first queries are fine), and nothing writes to the descriptor afterwards. Documents are
// built from the typed fields, so the host need not build each event's JSON (SENSOR_PLUGIN_JSON_ON_REQUEST).
nonisolated(unsafe) private let descriptor = PluginDescriptor.make(
    name: "firebase-export", version: "2.0.0", flags: SENSOR_PLUGIN_JSON_ON_REQUEST
) { host, config, instance in
    PluginDescriptor.create(FirebaseExport.self, host: host, config: config, instance: instance)
}

/// The Firebase export sink: events as Cloud Firestore documents or Realtime Database children named by their
/// event id, written inside `write_batch`; the host's journal keeps what is not delivered yet.
enum FirebaseExport: ExportPlugin {
    /// Log lines start with this name.
    static let logName = "firebase export"
    /// The sink's own configuration keys.
    static let keys = FirebaseSettings.keys

    /// Most response bytes kept: a batchWrite answer for 500 writes is about 50 KB.
    static let responseLimit = 4 << 20

    /// Reads the sink's own keys.
    static func parse(_ reader: SettingsReader, delivery: DeliverySettings) throws(SettingsError) -> FirebaseSettings {
        try FirebaseSettings(reader)
    }

    /// The deliverer with its own libcurl client (a request in flight ends at the sensor's drain deadline).
    static func makeDeliverer(
        _ settings: FirebaseSettings, delivery: DeliverySettings, context: DelivererContext
    ) throws(SettingsError) -> any BatchDeliverer {
        let host = context.host
        let client = try HTTPClient(
            options: delivery.clientOptions(responseLimit: responseLimit), abort: { host.stopDeadlinePassed })
        return FirebaseDeliverer(settings: settings, batchMaxBytes: delivery.batchMaxBytes, client: client)
    }
}
