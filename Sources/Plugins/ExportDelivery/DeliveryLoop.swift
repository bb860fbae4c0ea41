import Foundation
import SensorPluginAPI

/// The delivery thread's work: wait for a batch to be due, read it from the spool, hand it to the
/// ``BatchDeliverer`` until it is delivered or refused for good (refused events are dead-lettered), then advance
/// the spool's cursor.
///
/// Retries (``DeliveryOutcome/retry(_:after:)``) offer the same batch again after ``RetryPolicy``'s delay,
/// indefinitely: the spool's limit bounds what waits meanwhile.
final class DeliveryLoop {
    private let spool: Spool
    private let deliverer: any BatchDeliverer
    private let settings: DeliverySettings
    private let log: HostLog
    private let deadLetter: DeadLetterFile
    private let stop: StopFlag
    private var retry: RetryPolicy
    private var failingSince: Date?
    private var lastFailureLog = Date.distantPast

    /// A loop over `spool` that delivers with `deliverer`, until `stop` is set (and the spool's `isStopping`).
    init(spool: Spool, deliverer: any BatchDeliverer, settings: DeliverySettings, log: HostLog, stop: StopFlag) {
        self.spool = spool
        self.deliverer = deliverer
        self.settings = settings
        self.log = log
        self.stop = stop
        self.deadLetter = DeadLetterFile(path: settings.deadLetterPath, endpoint: deliverer.destination)
        self.retry = RetryPolicy(
            initialMilliseconds: settings.retryInitialMilliseconds,
            maxMilliseconds: settings.retryMaxMilliseconds
        )
    }

    /// Runs until stopped.
    func run() {
        var lastBatchWasFull = false
        while waitForBatch(immediately: lastBatchWasFull) {
            let batch: SpoolBatch?
            do {
                batch = try spool.readBatch(maxEvents: settings.batchMaxEvents, maxBytes: settings.batchMaxBytes)
            } catch {
                reportFailure("cannot read the spool: \(error)")
                pause(seconds: retry.nextDelay(retryAfter: nil))
                continue
            }
            guard let batch else {
                lastBatchWasFull = false
                continue
            }
            deliver(batch)
            lastBatchWasFull =
                batch.lines.count >= settings.batchMaxEvents || batch.bytes.count * 2 >= settings.batchMaxBytes
        }
    }

    /// Waits until events are due: a full batch is pending, the first pending event has waited
    /// `batch_interval_ms`, a flush is waiting, or `immediately` (more after a full batch). `false` on stop.
    private func waitForBatch(immediately: Bool) -> Bool {
        let condition = spool.condition
        condition.lock()
        defer { condition.unlock() }
        var due: Date?
        while !spool.isStopping {
            let pending = spool.pendingEvents
            if pending >= settings.batchMaxEvents || (pending > 0 && (immediately || spool.flushWaiters > 0)) {
                return true
            }
            guard pending > 0 else {
                due = nil
                condition.wait()
                continue
            }
            let deadline = due ?? Date(timeIntervalSinceNow: Double(settings.batchIntervalMilliseconds) / 1000)
            due = deadline
            if Date() >= deadline {
                return true
            }
            _ = condition.wait(until: deadline)
        }
        return false
    }

    /// Offers `batch` to the deliverer until it is delivered or dead-lettered, or the loop is stopped.
    private func deliver(_ batch: SpoolBatch) {
        let events = batch.events
        retry.reset()
        while !stop.isSet {
            switch deliverer.deliver(events) {
            case .delivered:
                guard finish(batch) else { continue }
                log.count("delivered", UInt64(events.count))
                recovered()
                return
            case .retry(let reason, let after):
                guard !stop.isSet else { return }
                log.count("http_errors")
                scheduleRetry(after: reason, retryAfter: after)
            case .rejected(let status, let response):
                log.count("http_errors")
                let records = events.map { (event: $0, status: status, response: response) }
                guard deadLetter(records, reason: "HTTP \(status) refused \(events.count) events", response: response)
                else { continue }
                guard finish(batch) else { continue }
                log.count("dead_lettered", UInt64(events.count))
                return
            case .partlyRejected(let rejections):
                let records = rejections.map { (event: events[$0.index], status: $0.status, response: $0.response) }
                let reason = "\(records.count) of \(events.count) events refused"
                guard deadLetter(records, reason: reason, response: rejections.first?.response ?? "") else { continue }
                guard finish(batch) else { continue }
                log.count("delivered", UInt64(events.count - records.count))
                log.count("dead_lettered", UInt64(records.count))
                recovered()
                return
            }
        }
    }

    /// Appends `records` to the dead-letter file and logs why; on failure schedules a retry and answers `false`.
    private func deadLetter(
        _ records: [(event: ArraySlice<UInt8>, status: Int, response: String)], reason: String, response: String
    ) -> Bool {
        do {
            try deadLetter.append(records)
        } catch {
            scheduleRetry(after: "\(reason), and the dead-letter file failed: \(error)", retryAfter: nil)
            return false
        }
        log.write(SENSOR_LOG_WARN, "\(reason); appended to \(deadLetter.path): \(response.prefix(200))")
        return true
    }

    /// Advances the cursor past `batch`; on failure waits a retry delay and answers `false` (sent again).
    private func finish(_ batch: SpoolBatch) -> Bool {
        do {
            try spool.advance(to: batch.end, events: batch.lines.count)
        } catch {
            scheduleRetry(after: "cannot save the spool cursor: \(error)", retryAfter: nil)
            return false
        }
        let counts = spool.counts()
        log.gauge("spool_events", Double(counts.events))
        log.gauge("spool_bytes", Double(counts.bytes))
        return true
    }

    private func scheduleRetry(after reason: String, retryAfter: TimeInterval?) {
        let delay = retry.nextDelay(retryAfter: retryAfter)
        reportFailure("\(reason); retry \(retry.attempts) in \(Int(delay * 1000)) ms")
        log.count("retries")
        pause(seconds: delay)
    }

    /// Logs the first failure of an outage, then at most one line every 10 seconds.
    private func reportFailure(_ message: String) {
        let now = Date()
        if failingSince == nil {
            failingSince = now
        } else if now.timeIntervalSince(lastFailureLog) < 10 {
            return
        }
        lastFailureLog = now
        log.write(SENSOR_LOG_WARN, "delivery to \(deliverer.destination) failed: \(message)")
    }

    private func recovered() {
        guard let since = failingSince else { return }
        failingSince = nil
        log.write(SENSOR_LOG_INFO, "delivery resumed after \(Int(Date().timeIntervalSince(since))) s of failures")
    }

    /// Sleeps `seconds`, waking early when the loop is stopped.
    private func pause(seconds: TimeInterval) {
        let until = Date(timeIntervalSinceNow: seconds)
        spool.condition.lock()
        while !spool.isStopping && Date() < until {
            _ = spool.condition.wait(until: until)
        }
        spool.condition.unlock()
    }
}
