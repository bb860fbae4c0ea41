/// What a plugin said about the batch being delivered, through the host callbacks of ABI 1.2 during its
/// `write_batch` calls: how long to wait before a retry, and which events it refused for good (and why).
///
/// Confined to the sink's worker thread: the callbacks are honoured only from inside `write_batch`, on that
/// thread (the marshaller checks), and the worker reads the verdicts after each call.
struct BatchVerdicts {
    /// Why an event was refused for good, as written to the dead-letter file.
    struct Refusal: Sendable, Equatable {
        /// The plugin's code for it (an HTTP status, say), or 0.
        var code: Int32
        /// The plugin's reason.
        var reason: String
    }

    /// The longest wait a plugin's `retry_after` is honoured for.
    static let maximumRetryAfter = Duration.seconds(3600)

    /// The wait the plugin asked for during the last call (`retry_after`), if any.
    private(set) var retryAfter: Duration?
    /// Events refused one by one (`reject_event`), by position in the batch; kept across the batch's retries.
    private(set) var refusals: [Int: Refusal] = [:]
    /// The reason for every other event of a batch answered `SENSOR_ERROR` (`reject_event` with no event).
    private(set) var batchRefusal: Refusal?

    /// Forgets everything: a new batch begins.
    mutating func startBatch() {
        self = BatchVerdicts()
    }

    /// Forgets the retry wait: a new call for the same batch begins (refusals hold for the whole batch).
    mutating func startCall() {
        retryAfter = nil
    }

    /// Records `retry_after(milliseconds)`, clamped to 0 ... ``maximumRetryAfter``.
    mutating func requestRetry(afterMilliseconds milliseconds: Int64) {
        retryAfter = min(.milliseconds(max(0, milliseconds)), Self.maximumRetryAfter)
    }

    /// Records `reject_event` for the event at `position`, or for the whole batch when `position` is `nil`.
    mutating func refuse(position: Int?, _ refusal: Refusal) {
        if let position {
            refusals[position] = refusal
        } else {
            batchRefusal = refusal
        }
    }
}
