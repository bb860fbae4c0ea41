import Foundation
import Logging
import Metrics
import SensorPluginAPI
import Synchronization

/// The host side of one instance's `sensor_host_api`: log lines, plugin-reported metrics and (ABI 1.2) the
/// plugin's verdicts on the batch in progress arrive here through C function pointers whose `host_context` is
/// this object.
///
/// Lifetime: the owning ``SinkWorker`` keeps the bridge alive from before `create()` until after `destroy()` has
/// returned, which is exactly how long the ABI lets a plugin use the `sensor_host_api` pointer and its strings.
/// Thread safety: the C structure and strings are written once in `init` and only read afterwards; the plugin
/// metric caches are behind a `Mutex`, because plugins may call the host API from any thread; the drain
/// deadline is atomic. `event_json`, `retry_after` and `reject_event` are only honoured on the worker thread
/// inside `write_batch` (the marshaller checks), so ``verdicts`` is only touched by that thread.
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
    /// The sink's drain deadline, reported to the plugin as `stop_deadline`.
    fileprivate let drainDeadline: DrainDeadline
    /// What the plugin said about the batch in progress (worker thread only).
    var verdicts = BatchVerdicts()

    private struct PluginMetrics {
        var counters: [String: Counter] = [:]
        var gauges: [String: Gauge] = [:]
        var warnedAboutLimit = false
    }

    /// Builds the C structure, with copies of the instance name and sensor id that live as long as the bridge;
    /// `event_json` is answered by `marshaller`, `stop_deadline` from `drainDeadline`.
    init(
        sinkName: String, sensorID: String, logger: Logger, factory: any MetricsFactory,
        marshaller: EventBatchMarshaller, drainDeadline: DrainDeadline
    ) {
        self.sinkName = sinkName
        self.marshaller = marshaller
        self.drainDeadline = drainDeadline
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
                event_json: hostEventJSON,
                retry_after: hostRetryAfter,
                reject_event: hostRejectEvent,
                stop_deadline: hostStopDeadline
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

    /// `retry_after`: honoured only inside `write_batch`, on the worker thread.
    fileprivate func requestRetry(afterMilliseconds milliseconds: Int64) {
        guard marshaller.isInBatchOnThisThread else { return }
        verdicts.requestRetry(afterMilliseconds: milliseconds)
    }

    /// `reject_event`: `event` (one of the batch's; `nil` for the whole batch) refused for good, honoured only
    /// inside `write_batch`, on the worker thread. A pointer that is not one of the batch's events is ignored.
    fileprivate func refuse(_ event: UnsafePointer<sensor_event>?, code: Int32, reason: String) {
        guard marshaller.isInBatchOnThisThread else { return }
        let refusal = BatchVerdicts.Refusal(code: code, reason: reason)
        guard let event else { return verdicts.refuse(position: nil, refusal) }
        guard let position = marshaller.position(of: event) else { return }
        verdicts.refuse(position: position, refusal)
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

private let hostRetryAfter: @convention(c) (UnsafeMutableRawPointer?, Int64) -> Void = { context, milliseconds in
    bridge(context)?.requestRetry(afterMilliseconds: milliseconds)
}

/// The longest reason kept for one refused event (the rest of a long server answer is cut).
private let maximumReasonBytes = 4096

private let hostRejectEvent:
    @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sensor_event>?, Int32, UnsafePointer<CChar>?, Int) -> Void =
        {
            context, event, code, reason, length in
            bridge(context)?.refuse(event, code: code, reason: text(reason, min(length, maximumReasonBytes)))
        }

private let hostStopDeadline: @convention(c) (UnsafeMutableRawPointer?) -> Int64 = { context in
    bridge(context)?.drainDeadline.unixMicroseconds ?? 0
}
