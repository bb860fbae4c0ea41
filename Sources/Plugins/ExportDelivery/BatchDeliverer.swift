/// The seam between the shared instance and one export target: how a host batch becomes requests, and how one
/// request went.
///
/// ``ExportInstance`` owns the rest of `write_batch`: skipping what an earlier attempt of the same batch already
/// delivered, sending the parts in order, telling the host about refusals (`reject_event`) and waits
/// (`retry_after`), and answering OK / RETRY / ERROR. Called on the host's thread of the instance only.
package protocol BatchDeliverer: AnyObject {
    /// Where events go, for logs and dead-letter reasons (never a secret: no tokens, no `?auth=`).
    var destination: String { get }

    /// Splits `events` (in sequence order) into requests within the service's limits: consecutive parts that
    /// together cover every position of `events`.
    func parts(for events: [ExportEvent]) -> [RequestPart]

    /// Sends one part's request and answers what happened. Blocks for at most the configured request timeouts,
    /// and ends early when the sensor's drain deadline passes.
    func send(_ part: RequestPart) -> DeliveryOutcome
}

/// One request's worth of a host batch.
package struct RequestPart {
    /// The positions (in the events given to ``BatchDeliverer/parts(for:)``) of the events the part covers.
    package var events: Range<Int>
    /// The request body; `nil` when every event of the part was refused without a request.
    package var body: [UInt8]?
    /// For each entry of the request (a document), the positions of the events it stands for (Firebase: one
    /// document per event id); empty when the target does not answer per entry.
    package var entries: [[Int]]
    /// Events of the part refused without a request (an invalid document id, say), by position.
    package var refused: [EventRejection]

    /// A part covering `events`.
    package init(events: Range<Int>, body: [UInt8]?, entries: [[Int]] = [], refused: [EventRejection] = []) {
        self.events = events
        self.body = body
        self.entries = entries
        self.refused = refused
    }
}

/// What a ``BatchDeliverer`` answers for one request.
package enum DeliveryOutcome: Equatable {
    /// Every event was stored.
    case delivered
    /// Nothing is known to be stored: the host sends the same batch again after its backoff, or after `after`
    /// seconds when the server said (`Retry-After`). `reason` is logged (no secrets).
    case retry(_ reason: String, after: Double?)
    /// The whole request was refused for good (a 4xx): its events go to the host's dead-letter file with the
    /// status as their code.
    case rejected(status: Int, reason: String)
    /// Some events were refused for good (positions in the batch) and the rest were stored.
    case partlyRejected([EventRejection])
}

/// One event a server (or the sink itself) refused for good.
package struct EventRejection: Equatable {
    /// The event's position in the batch.
    package var index: Int
    /// The HTTP status (or the HTTP equivalent of a per-write error), the dead-letter line's code.
    package var status: Int
    /// Why, as the server said it.
    package var reason: String

    /// A rejection of the event at `index`.
    package init(index: Int, status: Int, reason: String) {
        self.index = index
        self.status = status
        self.reason = reason
    }
}
