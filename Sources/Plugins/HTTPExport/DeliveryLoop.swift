import Foundation
import SensorPluginAPI

/// The delivery thread's work: wait for a batch to be due, read it from the spool, POST it until it is
/// delivered (2xx) or refused for good (other 4xx: dead-lettered), then advance the spool's cursor.
///
/// Transient failures (no answer, timeouts, 5xx, 408, 429, and 3xx since redirects are not followed) are retried
/// with the same batch after ``RetryPolicy``'s delay, indefinitely: the spool's limit bounds what waits meanwhile.
final class DeliveryLoop {
    private let spool: Spool
    private let client: HTTPClient
    private let settings: HTTPExportSettings
    private let log: HostLog
    private let sensorID: String
    private let deadLetter: DeadLetterFile
    private let stop: StopFlag
    private var retry: RetryPolicy
    private var failingSince: Date?
    private var lastFailureLog = Date.distantPast

    /// A loop over `spool` that posts with `client`, until `stop` is set (and the spool's `isStopping`).
    init(spool: Spool, client: HTTPClient, settings: HTTPExportSettings, log: HostLog, sensorID: String, stop: StopFlag)
    {
        self.spool = spool
        self.client = client
        self.settings = settings
        self.log = log
        self.sensorID = sensorID
        self.stop = stop
        self.deadLetter = DeadLetterFile(path: settings.deadLetterPath, endpoint: settings.endpoint)
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

    /// Posts `batch` until it is delivered or dead-lettered, or the loop is stopped.
    private func deliver(_ batch: SpoolBatch) {
        let events = batch.events
        let body = RequestBody.make(sensorID: sensorID, events: events, gzip: settings.gzip)
        retry.reset()
        while !stop.isSet {
            switch client.post(body) {
            case .response(let status, _, _) where (200..<300).contains(status):
                guard finish(batch) else { continue }
                log.count("delivered", UInt64(events.count))
                recovered()
                return
            case .response(let status, let retryAfter, let snippet) where Self.isRetryable(status):
                log.count("http_errors")
                let wait = status == 429 || status == 503 ? retryAfter.flatMap { RetryPolicy.parseRetryAfter($0) } : nil
                scheduleRetry(after: "HTTP \(status) \(snippet.prefix(200))", retryAfter: wait)
            case .response(let status, _, let snippet):
                log.count("http_errors")
                do {
                    try deadLetter.append(events, status: status, response: snippet)
                } catch {
                    scheduleRetry(after: "HTTP \(status), and the dead-letter file failed: \(error)", retryAfter: nil)
                    continue
                }
                log.write(
                    SENSOR_LOG_WARN,
                    "HTTP \(status) refused \(events.count) events; appended to \(deadLetter.path): \(snippet.prefix(200))"
                )
                guard finish(batch) else { continue }
                log.count("dead_lettered", UInt64(events.count))
                return
            case .transportError(let message):
                guard !stop.isSet else { return }
                log.count("http_errors")
                scheduleRetry(after: message, retryAfter: nil)
            }
        }
    }

    /// 408, 429, 5xx and 3xx (redirects are not followed: a misconfiguration that must not lose events).
    static func isRetryable(_ status: Int) -> Bool {
        status == 408 || status == 429 || (500..<600).contains(status) || (300..<400).contains(status)
            || status < 200
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
        log.write(SENSOR_LOG_WARN, "delivery to \(settings.endpoint) failed: \(message)")
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
