import Foundation
import SensorPluginAPI

/// One export sink instance: `write_batch` appends to the durable ``Spool``; a thread it owns runs the
/// ``DeliveryLoop`` (with the plugin's ``BatchDeliverer``) from `create` until `destroy`.
///
/// The host calls `write`, `flush` and `deinit` (via destroy) from one thread; the delivery thread shares only
/// the spool (locked) and the stop flag (atomic).
final class ExportInstance {
    private let log: HostLog
    private let spool: Spool
    private let stop: StopFlag
    private var thread: pthread_t
    private var lastSpoolFullLog = Date.distantPast
    private var spoolFullSinceLog = 0

    /// Parses the configuration, opens the spool, builds `Plugin`'s deliverer and starts the delivery thread;
    /// logs why through `host` and returns the status for `create()` on failure.
    static func make<Plugin: ExportPlugin>(
        _ plugin: Plugin.Type, host: UnsafePointer<sensor_host_api>, config: sensor_str
    ) -> Result<ExportInstance, Status> {
        let log = HostLog(host: host, name: Plugin.logName)
        let delivery: DeliverySettings
        let settings: Plugin.Settings
        do throws(SettingsError) {
            let reader = try SettingsReader(json: UnsafeRawBufferPointer(start: config.ptr, count: config.len))
            try reader.refuseUnknownKeys(DeliverySettings.keys.union(Plugin.keys))
            delivery = try DeliverySettings(
                reader, spoolPrefix: Plugin.spoolPrefix, maxBatchEvents: Plugin.maxBatchEvents)
            settings = try Plugin.parse(reader, delivery: delivery)
        } catch {
            log.write(SENSOR_LOG_ERROR, "invalid configuration: \(error.message)")
            return .failure(Status(SENSOR_BAD_CONFIG))
        }
        if !delivery.tlsVerify {
            log.write(SENSOR_LOG_WARN, "tls_verify = false: TLS certificates and host names are NOT verified")
        }
        let spool: Spool
        do {
            spool = try Spool(directory: delivery.spoolDirectory, maxBytes: delivery.spoolMaxBytes)
        } catch {
            log.write(SENSOR_LOG_ERROR, "cannot open the spool \(delivery.spoolDirectory): \(error)")
            return .failure(Status(SENSOR_BAD_CONFIG))
        }
        let stop = StopFlag()
        let sensorID = String(
            decoding: UnsafeRawBufferPointer(start: host.pointee.sensor_id.ptr, count: host.pointee.sensor_id.len),
            as: UTF8.self)
        let deliverer: any BatchDeliverer
        do {
            deliverer = try Plugin.makeDeliverer(
                settings, delivery: delivery, context: DelivererContext(log: log, stop: stop, sensorID: sensorID))
        } catch {
            log.write(SENSOR_LOG_ERROR, error.message)
            return .failure(Status(SENSOR_FATAL))
        }
        let loop = DeliveryLoop(spool: spool, deliverer: deliverer, settings: delivery, log: log, stop: stop)
        guard let thread = DeliveryThread.start(loop) else {
            log.write(SENSOR_LOG_ERROR, "cannot start the delivery thread")
            return .failure(Status(SENSOR_FATAL))
        }
        let counts = spool.counts()
        log.gauge("spool_events", Double(counts.events))
        log.gauge("spool_bytes", Double(counts.bytes))
        log.write(
            SENSOR_LOG_INFO,
            "delivering to \(deliverer.destination), spool \(delivery.spoolDirectory) (\(counts.events) events waiting)"
        )
        return .success(ExportInstance(log: log, spool: spool, stop: stop, thread: thread))
    }

    private init(log: HostLog, spool: Spool, stop: StopFlag, thread: pthread_t) {
        self.log = log
        self.spool = spool
        self.stop = stop
        self.thread = thread
    }

    /// Stops the delivery thread (waking it and aborting a request in flight) and joins it.
    deinit {
        stop.set()
        spool.condition.lock()
        spool.isStopping = true
        spool.condition.broadcast()
        spool.condition.unlock()
        pthread_join(thread, nil)
    }

    /// Appends a batch to the spool durably: `SENSOR_OK` once synced, `SENSOR_RETRY` when the spool is full or
    /// the disk failed transiently, `SENSOR_ERROR` on other write errors.
    func write(_ events: UnsafePointer<UnsafePointer<sensor_event>?>, count: Int) -> Int32 {
        var bytes: [UInt8] = []
        var lines = 0
        for index in 0..<count {
            guard let event = events[index], let json = event.pointee.json.ptr, event.pointee.json.len > 0 else {
                continue
            }
            // Event JSON is compact; a raw newline could only be whitespace between tokens, so a space keeps it valid.
            let text = UnsafeRawBufferPointer(start: json, count: event.pointee.json.len)
            bytes.append(contentsOf: text.lazy.map { $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 })
            bytes.append(UInt8(ascii: "\n"))
            lines += 1
        }
        guard lines > 0 else { return SENSOR_OK }
        switch spool.append(bytes, events: lines) {
        case .appended:
            let counts = spool.counts()
            log.gauge("spool_events", Double(counts.events))
            log.gauge("spool_bytes", Double(counts.bytes))
            return SENSOR_OK
        case .full:
            log.count("spool_full")
            reportSpoolFull(events: lines)
            return SENSOR_RETRY
        case .failed(let failure):
            log.write(SENSOR_LOG_ERROR, "cannot spool \(lines) events: \(failure)")
            return failure.isTransient ? SENSOR_RETRY : SENSOR_ERROR
        }
    }

    /// Waits until the delivery thread has emptied the spool or `deadline` (Unix µs) passes: `SENSOR_OK` when
    /// drained, else `SENSOR_RETRY` (the events stay spooled and are sent after the next start).
    func flush(deadlineUnixMicros: Int64) -> Int32 {
        let deadline = Date(timeIntervalSince1970: Double(deadlineUnixMicros) / 1_000_000)
        let condition = spool.condition
        condition.lock()
        spool.flushWaiters += 1
        condition.broadcast()
        while spool.pendingEvents > 0 && Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        spool.flushWaiters -= 1
        let remaining = spool.pendingEvents
        condition.unlock()
        guard remaining == 0 else {
            log.write(SENSOR_LOG_WARN, "flush: \(remaining) events still spooled; they are sent after the next start")
            return SENSOR_RETRY
        }
        return SENSOR_OK
    }

    /// Logs a full spool at most once every 10 seconds.
    private func reportSpoolFull(events: Int) {
        spoolFullSinceLog += 1
        guard Date().timeIntervalSince(lastSpoolFullLog) >= 10 else { return }
        let counts = spool.counts()
        log.write(
            SENSOR_LOG_WARN,
            "spool full (\(counts.bytes) of \(spool.maxBytes) bytes, \(counts.events) events; "
                + "destination unreachable?): "
                + "answered RETRY \(spoolFullSinceLog) times; the host keeps the events queued and backs off"
        )
        lastSpoolFullLog = Date()
        spoolFullSinceLog = 0
    }
}

/// A `SENSOR_*` status as an `Error`, so `create()` failures travel in a `Result`.
struct Status: Error {
    /// The `SENSOR_*` status.
    let code: Int32

    /// Wraps a status.
    init(_ code: Int32) {
        self.code = code
    }
}
