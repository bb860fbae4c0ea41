/// The seam between the shared delivery engine and one export target: "deliver these spooled events".
///
/// ``DeliveryLoop`` owns waiting, reading batches from the spool, backoff, the dead-letter file and advancing the
/// cursor; a deliverer only turns a batch into requests and says how they went. It is called on the delivery
/// thread only, one batch at a time, and the same batch is offered again after a ``DeliveryOutcome/retry(_:after:)``.
package protocol BatchDeliverer: AnyObject {
    /// Where events go, for logs and the dead-letter file (never a secret: no tokens, no `?auth=`).
    var destination: String { get }

    /// Delivers `events` (each one event's JSON object, in spool order) and answers what happened. Blocks for at
    /// most the configured request timeouts; ends early when the loop's stop flag aborts a request.
    func deliver(_ events: [ArraySlice<UInt8>]) -> DeliveryOutcome
}

/// What a ``BatchDeliverer`` answers for one batch.
package enum DeliveryOutcome: Equatable {
    /// Every event was stored.
    case delivered
    /// Nothing is known to be stored: send the same batch again after a backoff, or after `after` seconds when
    /// the server said (`Retry-After`). `reason` is logged (no secrets).
    case retry(_ reason: String, after: Double?)
    /// The whole batch was refused for good (a 4xx): it goes to the dead-letter file with `status` and the start
    /// of the server's `response`, and delivery moves on.
    case rejected(status: Int, response: String)
    /// Some events were refused for good and the rest were stored: the refused ones go to the dead-letter file.
    case partlyRejected([EventRejection])
}

/// One event a server refused for good while the rest of its batch was stored.
package struct EventRejection: Equatable {
    /// The event's position in the delivered batch.
    package var index: Int
    /// The HTTP status (or the HTTP equivalent of the per-write error) recorded in the dead-letter file.
    package var status: Int
    /// Why, as the server said it.
    package var response: String

    /// A rejection of the event at `index`.
    package init(index: Int, status: Int, response: String) {
        self.index = index
        self.status = status
        self.response = response
    }
}
