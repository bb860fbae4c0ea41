import Foundation
import SensorPluginAPI

/// One batch's way through the plugin, on the worker thread: `write_batch` until it is finished, with the host's
/// backoff (or the plugin's `retry_after`) between RETRYs; refused events to the dead-letter file; the circuit
/// breaker. The host owns all of it, so a plugin only delivers and answers.
extension SinkWorker {
    /// Delivers `chunk` as one batch: calls `write_batch` until it answers OK, ERROR or FATAL, or the drain
    /// deadline passes (with a journal the batch is then sent after the next start).
    func deliver(_ chunk: ArraySlice<QueuedEvent>) {
        marshaller.withMarshalledBatch(chunk, includeJSON: !plugin.wantsJSONOnRequest) { events, count in
            bridge.verdicts.startBatch()
            var backoff = configuration.retryInitial.nanoseconds
            while true {
                if drainDeadline.hasPassed(at: SinkClock.monotonicNanoseconds()) {
                    logger.warning("drain deadline passed; dropped \(count) events\(keptNote)")
                    return drop(count)
                }
                bridge.verdicts.startCall()
                markInFlight(chunk)
                writeWatch.begin(at: SinkClock.monotonicNanoseconds())
                let status = plugin.descriptor.write_batch!(instance, events, count)
                writeWatch.end(at: SinkClock.monotonicNanoseconds())
                clearInFlightMarker()
                // JSON the plugin asked for lives until write_batch returns.
                marshaller.releaseRequestedJSON()
                switch status {
                case SENSOR_OK:
                    return accept(chunk)
                case SENSOR_RETRY:
                    metrics.retries.increment()
                    let delay: UInt64
                    if let asked = bridge.verdicts.retryAfter {
                        delay = asked.nanoseconds
                    } else {
                        delay = backoff / 2 + UInt64.random(in: 0...(backoff / 2))
                        backoff = min(backoff > UInt64.max / 2 ? .max : backoff * 2, configuration.retryMax.nanoseconds)
                    }
                    logger.debug(
                        "write_batch asked to retry",
                        metadata: [
                            "delay_ms": "\(delay / 1_000_000)",
                            "retry_after": "\(bridge.verdicts.retryAfter != nil)",
                        ])
                    guard waitForRetry(until: SinkClock.monotonicNanoseconds() + delay) else {
                        logger.warning("drain deadline reached while retrying; dropped \(count) events\(keptNote)")
                        return drop(count)
                    }
                case SENSOR_FATAL:
                    drop(count)
                    return disable(reason: "write_batch returned SENSOR_FATAL")
                default:
                    return refuse(chunk, status: status)
                }
            }
        }
    }

    /// `SENSOR_OK`: the events the plugin refused one by one go to the dead-letter file, the rest are delivered.
    private func accept(_ chunk: ArraySlice<QueuedEvent>) {
        consecutiveErrors = 0
        errorLog.reset()
        let entries = bridge.verdicts.refusals.sorted { $0.key < $1.key }.map { position, refusal in
            DeadLetterFile.Entry(event: chunk[chunk.startIndex + position], refusal: refusal)
        }
        metrics.delivered.increment(by: Int64(chunk.count - entries.count))
        if !entries.isEmpty, deadLetter(entries), let unlogged = refusalLog.admit(at: SinkClock.monotonicNanoseconds())
        {
            logger.warning(
                "the plugin refused \(entries.count) of \(chunk.count) events for good; dead-lettered them",
                metadata: [
                    "file": "\(deadLetters?.path ?? "")", "code": "\(entries[0].refusal.code)",
                    "reason": "\(entries[0].refusal.reason.prefix(200))", "unlogged_refusals": "\(unlogged)",
                ])
        }
        finished(through: chunk[chunk.endIndex - 1].sequence)
    }

    /// `SENSOR_ERROR` (or an unknown status): the whole batch goes to the dead-letter file, each event with the
    /// reason the plugin gave for it, for the batch, or none; enough in a row open the circuit breaker.
    private func refuse(_ chunk: ArraySlice<QueuedEvent>, status: Int32) {
        metrics.errors.increment()
        consecutiveErrors += 1
        let verdicts = bridge.verdicts
        let named = status == SENSOR_ERROR ? "SENSOR_ERROR" : "status \(status)"
        let fallback =
            verdicts.batchRefusal ?? BatchVerdicts.Refusal(code: 0, reason: "write_batch returned \(named)")
        let entries = chunk.indices.map { index in
            DeadLetterFile.Entry(
                event: chunk[index], refusal: verdicts.refusals[index - chunk.startIndex] ?? fallback)
        }
        let written = deadLetter(entries)
        finished(through: chunk[chunk.endIndex - 1].sequence)
        if let unlogged = errorLog.admit(at: SinkClock.monotonicNanoseconds()) {
            logger.error(
                "write_batch failed; \(written ? "dead-lettered" : "dropped") the batch",
                metadata: [
                    "status": "\(status)", "events": "\(chunk.count)", "reason": "\(fallback.reason.prefix(200))",
                    "consecutive_errors": "\(consecutiveErrors)",
                    "disable_after_errors": "\(configuration.disableAfterErrors)", "unlogged_failures": "\(unlogged)",
                ]
            )
        }
        let limit = configuration.disableAfterErrors
        if limit > 0 && consecutiveErrors >= limit {
            disable(reason: "\(consecutiveErrors) consecutive write_batch errors")
        }
    }

    /// Appends `entries` to the dead-letter file and counts them; `false` when there is no file or it cannot
    /// take them: they are then counted as dropped, and said so.
    func deadLetter(_ entries: [DeadLetterFile.Entry]) -> Bool {
        let problem: String
        if let deadLetters {
            do {
                try deadLetters.append(entries)
                metrics.deadLettered.increment(by: Int64(entries.count))
                return true
            } catch {
                problem = error.description
            }
        } else {
            problem = "no dead-letter folder is configured"
        }
        drop(entries.count)
        if let unlogged = deadLetterFailureLog.admit(at: SinkClock.monotonicNanoseconds()) {
            logger.error(
                "cannot dead-letter \(entries.count) events the plugin refused for good; dropped them: \(problem)",
                metadata: [
                    "reason": "\(entries[0].refusal.reason.prefix(200))", "unlogged_failures": "\(unlogged)",
                ])
        }
        return false
    }

    /// How a drop at the drain deadline is qualified: with a journal, the events are sent after the next start.
    var keptNote: String {
        journal == nil ? "" : " (kept in the journal; this sink gets them after the next start)"
    }

    /// Waits for a retry; `false` if the drain deadline would pass first.
    private func waitForRetry(until wakeAt: UInt64) -> Bool {
        while SinkClock.monotonicNanoseconds() < wakeAt {
            if drainDeadline.hasPassed(at: wakeAt) { return false }
            queue.pause(untilMonotonicNanoseconds: wakeAt)
        }
        return true
    }

    private func disable(reason: String) {
        isDisabled = true
        isDisabledForReports.store(true, ordering: .relaxed)
        let discarded = queue.disable()
        drop(discarded)
        metrics.disabled.record(1)
        logger.critical(
            """
            SINK DISABLED: \(reason). It receives no more events; they are counted as dropped\(keptNote). Other \
            sinks keep running. Fix the cause and restart the sensor.
            """,
            metadata: ["discarded_events": "\(discarded)"]
        )
    }
}
