import Foundation
import Logging
import Metrics
import SensorPluginAPI
import Synchronization

/// The host side of one instance's `sensor_host_api`: log lines and plugin-reported metrics arrive here through
/// C function pointers whose `host_context` is this object.
///
/// Lifetime: the owning ``SinkWorker`` keeps the bridge alive from before `create()` until after `destroy()` has
/// returned, which is exactly how long the ABI lets a plugin use the `sensor_host_api` pointer and its strings.
/// Thread safety: the C structure and strings are written once in `init` and only read afterwards; the plugin
/// metric caches are behind a `Mutex`, because plugins may call the host API from any thread. `event_json` is
/// only valid on the worker thread inside `write_batch`, and the marshaller checks that it is.
final class HostAPIBridge: @unchecked Sendable {
    /// The most distinct plugin counter (and, separately, gauge) names per instance; more are ignored and logged.
    static let pluginMetricLimit = 64

    /// The sink's logger (metadata `sink`); plugin log lines go here.
    let logger: Logger
    private let sinkName: String
    private let factory: any MetricsFactory
    private let pluginMetrics = Mutex(PluginMetrics())
    /// The structure handed to `create()`.
    let api: UnsafeMutablePointer<sensor_host_api>
    private let instanceName: UnsafeMutablePointer<CChar>
    private let sensorID: UnsafeMutablePointer<CChar>
    /// The worker's marshaller, which builds event JSON on request during `write_batch`.
    fileprivate let marshaller: EventBatchMarshaller

    private struct PluginMetrics {
        var counters: [String: Counter] = [:]
        var gauges: [String: Gauge] = [:]
        var warnedAboutLimit = false
    }

    /// Builds the C structure, with copies of the instance name and sensor id that live as long as the bridge;
    /// `event_json` is answered by `marshaller`.
    init(
        sinkName: String, sensorID: String, logger: Logger, factory: any MetricsFactory,
        marshaller: EventBatchMarshaller
    ) {
        self.sinkName = sinkName
        self.marshaller = marshaller
        self.logger = logger
        self.factory = factory
        self.instanceName = strdup(sinkName)!
        self.sensorID = strdup(sensorID)!
        self.api = .allocate(capacity: 1)
        api.initialize(
            to: sensor_host_api(
                struct_size: sensor_host_api_struct_size(),
                abi_major: UInt16(SENSOR_ABI_MAJOR),
                abi_minor: UInt16(SENSOR_ABI_MINOR),
                host_context: nil,
                instance_name: sensor_str(ptr: instanceName, len: strlen(instanceName)),
                sensor_id: sensor_str(ptr: self.sensorID, len: strlen(self.sensorID)),
                log: hostLog,
                add_counter: hostAddCounter,
                set_gauge: hostSetGauge,
                event_json: hostEventJSON
            )
        )
        api.pointee.host_context = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        api.deinitialize(count: 1)
        api.deallocate()
        free(instanceName)
        free(sensorID)
    }

    /// Logs a plugin message (copied) at the `SENSOR_LOG_*` level; unknown levels log as info.
    func log(level: Int32, message: UnsafeRawBufferPointer) {
        let logLevel: Logger.Level
        switch level {
        case SENSOR_LOG_ERROR: logLevel = .error
        case SENSOR_LOG_WARN: logLevel = .warning
        case SENSOR_LOG_DEBUG: logLevel = .debug
        default: logLevel = .info
        }
        logger.log(level: logLevel, "\(String(decoding: message, as: UTF8.self))", metadata: ["origin": "plugin"])
    }

    /// Adds to the plugin counter `name` (`sensor_sink_plugin_counter_total{sink,name}`).
    func addCounter(name: String, delta: UInt64) {
        let counter = pluginMetrics.withLock { state -> Counter? in
            if let counter = state.counters[name] { return counter }
            guard state.counters.count < Self.pluginMetricLimit else { return nil }
            let counter = Counter(
                label: SinkMetricNames.pluginCounter,
                dimensions: [("sink", sinkName), ("name", name)],
                factory: factory
            )
            state.counters[name] = counter
            return counter
        }
        guard let counter else { return warnAboutLimit(name: name) }
        counter.increment(by: Int64(clamping: delta))
    }

    /// Sets the plugin gauge `name` (`sensor_sink_plugin_gauge{sink,name}`).
    func setGauge(name: String, value: Double) {
        let gauge = pluginMetrics.withLock { state -> Gauge? in
            if let gauge = state.gauges[name] { return gauge }
            guard state.gauges.count < Self.pluginMetricLimit else { return nil }
            let gauge = Gauge(
                label: SinkMetricNames.pluginGauge,
                dimensions: [("sink", sinkName), ("name", name)],
                factory: factory
            )
            state.gauges[name] = gauge
            return gauge
        }
        guard let gauge else { return warnAboutLimit(name: name) }
        gauge.record(value)
    }

    private func warnAboutLimit(name: String) {
        let first = pluginMetrics.withLock { state in
            defer { state.warnedAboutLimit = true }
            return !state.warnedAboutLimit
        }
        if first {
            logger.warning(
                "plugin metric ignored: more than \(Self.pluginMetricLimit) distinct names",
                metadata: ["metric": "\(name)"]
            )
        }
    }
}

private func bridge(_ context: UnsafeMutableRawPointer?) -> HostAPIBridge? {
    context.map { Unmanaged<HostAPIBridge>.fromOpaque($0).takeUnretainedValue() }
}

private func text(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
    guard let pointer, length > 0 else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
}

private let hostLog: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, Int) -> Void = {
    context, level, message, length in
    guard let bridge = bridge(context), let message else { return }
    bridge.log(level: level, message: UnsafeRawBufferPointer(start: message, count: max(0, length)))
}

private let hostAddCounter: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, UInt64) -> Void = {
    context, name, length, delta in
    bridge(context)?.addCounter(name: text(name, length), delta: delta)
}

private let hostSetGauge: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int, Double) -> Void = {
    context, name, length, value in
    bridge(context)?.setGauge(name: text(name, length), value: value)
}

private let hostEventJSON: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sensor_event>?) -> sensor_str = {
    context, event in
    guard let bridge = bridge(context), let event else { return sensor_str(ptr: nil, len: 0) }
    return bridge.marshaller.json(for: event)
}
