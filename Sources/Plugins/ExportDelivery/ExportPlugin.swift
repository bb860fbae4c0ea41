package import PluginSupport

/// What one export sink adds to the shared instance: its name, its own configuration keys, and how it builds the
/// ``BatchDeliverer`` that turns host batches into requests. ``ExportInstance`` does the rest of `write_batch`;
/// the host does everything durable (journal, retries, backoff, dead letters).
package protocol ExportPlugin {
    /// The sink's own settings (besides ``DeliverySettings``).
    associatedtype Settings

    /// The log prefix, e.g. "http export".
    static var logName: String { get }
    /// The configuration keys this sink reads besides ``DeliverySettings/keys``.
    static var keys: Set<String> { get }

    /// Reads the sink's own keys (the shared ones are in `delivery`); the error names the key and the reason.
    static func parse(_ reader: SettingsReader, delivery: DeliverySettings) throws(SettingsError) -> Settings

    /// Builds the deliverer; its requests must end when `context.host` reports the drain deadline passed. A
    /// thrown error is fatal.
    static func makeDeliverer(
        _ settings: Settings, delivery: DeliverySettings, context: DelivererContext
    ) throws(SettingsError) -> any BatchDeliverer
}

/// What a deliverer gets from the instance that runs it.
package struct DelivererContext {
    /// The host API of the instance.
    package let host: PluginHost
    /// The sensor id the host runs as.
    package let sensorID: String
}
