/// What one export sink adds to the shared engine: its name, its own configuration keys, and how it builds the
/// ``BatchDeliverer`` that turns spooled batches into requests. ``ExportInstance`` does the rest (spool,
/// delivery thread, retries, dead letters, metrics).
package protocol ExportPlugin {
    /// The sink's own settings (besides ``DeliverySettings``).
    associatedtype Settings

    /// The log prefix, e.g. "http export".
    static var logName: String { get }
    /// The default spool folder is `<spoolPrefix>-<sink name>`.
    static var spoolPrefix: String { get }
    /// The most events one batch may hold at this target.
    static var maxBatchEvents: Int { get }
    /// The configuration keys this sink reads besides ``DeliverySettings/keys``.
    static var keys: Set<String> { get }

    /// Reads the sink's own keys (the shared ones are in `delivery`); the error names the key and the reason.
    static func parse(_ reader: SettingsReader, delivery: DeliverySettings) throws(SettingsError) -> Settings

    /// Builds the deliverer for the delivery thread; `stop` must abort its requests. A thrown error is fatal.
    static func makeDeliverer(
        _ settings: Settings, delivery: DeliverySettings, context: DelivererContext
    ) throws(SettingsError) -> any BatchDeliverer
}

/// What a deliverer gets from the instance that runs it.
package struct DelivererContext {
    /// The host log of the instance (usable from the delivery thread).
    package let log: HostLog
    /// Set when the instance is destroyed: ends waits and aborts requests in flight.
    package let stop: StopFlag
    /// The sensor id the host runs as.
    package let sensorID: String
}
