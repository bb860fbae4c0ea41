import Foundation

/// A plugin that kills the process while handling a batch must not crash-loop the sensor: with the journal, every
/// restart would hand it the same batch again. The worker keeps an ``InFlightMarker`` around each `write_batch`
/// call; at start a marker still present means the previous process died in that call. It is counted
/// (`sensor_sink_crashes_total`, an error log) and, once the process has died `dead_letter_after_crashes` times on
/// a batch starting at the same sequence, that batch is written to the sink's dead-letter file and the cursor moves
/// past it, so the sink continues with the next events.
extension SinkWorker {
    /// Deals with a marker the previous process left (the worker thread, before the backlog is replayed).
    func recoverFromCrash() {
        guard let marker = inFlight, let batch = marker.found, let journal else { return }
        guard batch.last > journal.cursor.position else {
            // Died after the call had returned and the cursor had moved: not a death inside write_batch.
            clearInFlightMarker()
            return
        }
        let crashes = batch.crashes + 1
        metrics.crashes.increment()
        let limit = configuration.deadLetterAfterCrashes
        let setAside = limit > 0 && crashes >= limit
        logger.error(
            """
            the previous process died inside this sink's write_batch (crash \(crashes) on the batch of events \
            \(batch.first)...\(batch.last)); \(setAside ? "setting the batch aside in the dead-letter file" : "retrying it")
            """,
            metadata: ["marker": "\(marker.path)", "dead_letter_after_crashes": "\(limit)"])
        guard setAside else {
            crashedBatch = InFlightMarker.Batch(first: batch.first, last: batch.last, crashes: crashes)
            return
        }
        setAsideCrashedBatch(batch, crashes: crashes)
    }

    /// Dead-letters the journaled events of `batch` and moves the cursor past them.
    private func setAsideCrashedBatch(_ batch: InFlightMarker.Batch, crashes: Int) {
        guard let reader else { return }
        let from = max(batch.first, journal.map { $0.cursor.position + 1 } ?? batch.first)
        let count = Int(clamping: batch.last - from + 1)
        let chunk = reader.read(from: from, before: batch.last + 1, maxEvents: count)
        let refusal = BatchVerdicts.Refusal(
            code: 0,
            reason: "the process died \(crashes) times inside write_batch on this batch (dead_letter_after_crashes)")
        if !chunk.events.isEmpty {
            _ = deadLetter(chunk.events.map { DeadLetterFile.Entry(event: $0, refusal: refusal) })
        }
        if chunk.missing > 0 {
            drop(chunk.missing)
        }
        finished(through: batch.last)
        clearInFlightMarker()
    }

    /// Marks `chunk` in flight before a `write_batch` call, carrying the crash count of a batch that starts at
    /// the same sequence.
    func markInFlight(_ chunk: ArraySlice<QueuedEvent>) {
        guard let marker = inFlight, let first = chunk.first?.sequence, let last = chunk.last?.sequence else { return }
        let crashes = crashedBatch?.first == first ? crashedBatch?.crashes ?? 0 : 0
        do {
            try marker.set(InFlightMarker.Batch(first: first, last: last, crashes: crashes))
        } catch {
            reportMarkerFailure(error)
        }
    }

    /// Clears the marker after a `write_batch` call returned.
    func clearInFlightMarker() {
        do {
            try inFlight?.clear()
        } catch {
            reportMarkerFailure(error)
        }
    }

    private func reportMarkerFailure(_ error: JournalFileError) {
        if let unlogged = markerFailureLog.admit(at: SinkClock.monotonicNanoseconds()) {
            logger.error(
                "\(error); a crash inside write_batch may go unnoticed at the next start",
                metadata: ["unlogged_failures": "\(unlogged)"])
        }
    }
}
