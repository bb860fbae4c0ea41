import Foundation
import PluginSupport
import SensorPluginAPI

/// One export sink instance: `write_batch` delivers the host batch synchronously, as one request or, beyond the
/// service's limits, several (``BatchDeliverer``), and answers OK, RETRY or ERROR. It keeps no events: the host's
/// journal holds the batch until the answer, retries it with backoff (or the server's `Retry-After`, passed on
/// with `retry_after`) and writes refused events to its dead-letter file (`reject_event`).
///
/// The host calls `write` and `deinit` (via destroy) from one thread, so the instance holds no locks.
final class ExportInstance: SinkInstance {
    private let host: PluginHost
    private let deliverer: any BatchDeliverer
    /// Every event up to this sequence is finished in this run (delivered or refused): a retried batch whose
    /// first parts went through resumes after them. Sequences only grow within one host run, and an instance
    /// lives within one.
    private var finishedThrough: UInt64 = 0
    private var failingSince: Date?
    private var lastFailureLog = Date.distantPast

    /// Parses the configuration (warning about keys the host's durability made obsolete) and builds `Plugin`'s
    /// deliverer; logs why through `host` and returns the status for `create()` on failure.
    static func make<Plugin: ExportPlugin>(
        _ plugin: Plugin.Type, host: UnsafePointer<sensor_host_api>, config: sensor_str
    ) -> Result<ExportInstance, Status> {
        let log = PluginHost(host: host, name: Plugin.logName)
        guard log.ownsDurability else {
            log.write(
                SENSOR_LOG_ERROR,
                "this plugin keeps no events of its own and needs a host with plugin ABI 1.2 or later "
                    + "(journal, retries and dead letters in the host); this host speaks "
                    + "\(host.pointee.abi_major).\(host.pointee.abi_minor)")
            return .failure(Status(SENSOR_FATAL))
        }
        let delivery: DeliverySettings
        let settings: Plugin.Settings
        do throws(SettingsError) {
            let reader = try SettingsReader(json: config.bytes)
            let retired = try reader.refuseUnknownKeys(
                DeliverySettings.keys.union(Plugin.keys), retired: DeliverySettings.retiredKeys)
            for (key, replacement) in retired {
                log.write(
                    SENSOR_LOG_WARN,
                    "[sink.config] \(key) is no longer used and is ignored: \(replacement). Remove it; it is "
                        + "accepted for this release only")
            }
            delivery = try DeliverySettings(reader)
            settings = try Plugin.parse(reader, delivery: delivery)
        } catch {
            log.write(SENSOR_LOG_ERROR, "invalid configuration: \(error.message)")
            return .failure(Status(SENSOR_BAD_CONFIG))
        }
        if !delivery.tlsVerify {
            log.write(SENSOR_LOG_WARN, "tls_verify = false: TLS certificates and host names are NOT verified")
        }
        let deliverer: any BatchDeliverer
        do {
            deliverer = try Plugin.makeDeliverer(
                settings, delivery: delivery,
                context: DelivererContext(host: log, sensorID: host.pointee.sensor_id.string))
        } catch {
            log.write(SENSOR_LOG_ERROR, error.message)
            return .failure(Status(SENSOR_FATAL))
        }
        log.write(
            SENSOR_LOG_INFO,
            "delivering to \(deliverer.destination) (undelivered events wait in the host's journal)")
        return .success(ExportInstance(host: log, deliverer: deliverer))
    }

    private init(host: PluginHost, deliverer: any BatchDeliverer) {
        self.host = host
        self.deliverer = deliverer
    }

    /// Delivers a host batch: `SENSOR_OK` once every part was stored or refused for good (the refused events
    /// told to the host), `SENSOR_RETRY` at the first part that may succeed later (or when the sensor stops),
    /// `SENSOR_ERROR` when every event was refused.
    func write(_ events: UnsafePointer<UnsafePointer<sensor_event>?>, count: Int) -> Int32 {
        var batch: [ExportEvent] = []
        batch.reserveCapacity(count)
        var resumed = false
        for index in 0..<count {
            guard let event = events[index] else { continue }
            if event.pointee.sequence <= finishedThrough {
                resumed = true
            } else {
                batch.append(ExportEvent(event))
            }
        }
        guard !batch.isEmpty else { return SENSOR_OK }
        var stored = 0
        for part in deliverer.parts(for: batch) {
            let outcome: DeliveryOutcome
            if part.body == nil {
                outcome = .delivered
            } else if host.stopDeadlinePassed {
                // The sensor is stopping: the rest of the batch waits in the journal for the next start.
                return SENSOR_RETRY
            } else {
                host.count("requests")
                outcome = deliverer.send(part)
            }
            var refused = part.refused
            switch outcome {
            case .delivered:
                break
            case .retry(let reason, let after):
                host.count("http_errors")
                if let after {
                    host.retry(after: after)
                }
                reportFailure(reason)
                return SENSOR_RETRY
            case .rejected(let status, let reason):
                host.count("http_errors")
                let named = Set(refused.map(\.index))
                refused += part.events.filter { !named.contains($0) }.map {
                    EventRejection(index: $0, status: status, reason: reason)
                }
            case .partlyRejected(let rejections):
                refused += rejections
            }
            for rejection in refused {
                host.reject(batch[rejection.index].pointer, code: rejection.status, reason: rejection.reason)
            }
            stored += part.events.count - refused.count
            finishedThrough = batch[part.events.upperBound - 1].sequence
        }
        recovered()
        // Nothing of the batch stored (now or by an earlier attempt): an ERROR, which the circuit breaker counts.
        return stored == 0 && !resumed ? SENSOR_ERROR : SENSOR_OK
    }

    /// Logs the first failure of an outage, then at most one line every 10 seconds (the host counts retries).
    private func reportFailure(_ reason: String) {
        let now = Date()
        if failingSince == nil {
            failingSince = now
        } else if now.timeIntervalSince(lastFailureLog) < 10 {
            return
        }
        lastFailureLog = now
        host.write(
            SENSOR_LOG_WARN,
            "delivery to \(deliverer.destination) failed: \(reason); the host retries the batch (it stays in the "
                + "journal)")
    }

    private func recovered() {
        guard let since = failingSince else { return }
        failingSince = nil
        host.write(SENSOR_LOG_INFO, "delivery resumed after \(Int(Date().timeIntervalSince(since))) s of failures")
    }
}
