import ExportDelivery

/// A spooled batch as one document per event id: events are parsed, keyed by their `event_id`, checked against
/// the target's key rules, and deduplicated (an event spooled twice is written once: Firestore refuses two
/// writes to one document in a request, and either way the document is the same).
struct BatchDocuments {
    /// One document to write.
    struct Document {
        /// The event id: the document id (Firestore) or key (RTDB).
        let id: String
        /// Positions in the batch of every event with this id (the last one is written).
        let eventIndices: [Int]
        /// The event's members.
        let members: [(key: String, value: JSONValue)]
        /// The event's JSON as spooled.
        let json: ArraySlice<UInt8>
    }

    /// The documents, in batch order of their last event.
    private(set) var documents: [Document] = []
    /// Events that cannot be written (no valid id, invalid JSON or keys): refused without a request.
    private(set) var rejections: [EventRejection] = []

    /// Groups `events`; `problem` answers why an event (its id and parsed object) cannot be written, or `nil`.
    init(_ events: [ArraySlice<UInt8>], problem: (String, JSONValue) -> String?) {
        var valid: [(id: String, index: Int, members: [(key: String, value: JSONValue)])] = []
        for (index, event) in events.enumerated() {
            guard let value = JSONValue.parse(event), case .object(let members) = value else {
                rejections.append(EventRejection(index: index, status: 400, response: "the event is not a JSON object"))
                continue
            }
            guard let id = value["event_id"]?.stringValue else {
                rejections.append(EventRejection(index: index, status: 400, response: "the event has no event_id"))
                continue
            }
            if let reason = problem(id, value) {
                rejections.append(EventRejection(index: index, status: 400, response: reason))
                continue
            }
            valid.append((id, index, members))
        }
        var positions: [String: [Int]] = [:]
        for entry in valid {
            positions[entry.id, default: []].append(entry.index)
        }
        for entry in valid where positions[entry.id]?.last == entry.index {
            documents.append(
                Document(
                    id: entry.id, eventIndices: positions[entry.id] ?? [], members: entry.members,
                    json: events[entry.index]))
        }
    }

    /// ``rejections`` plus every event of `documents` (by position in ``documents``) refused with `status`.
    func rejections(adding refused: [(document: Int, status: Int, response: String)]) -> [EventRejection] {
        rejections
            + refused.flatMap { item in
                documents[item.document].eventIndices.map {
                    EventRejection(index: $0, status: item.status, response: item.response)
                }
            }
    }

    /// What to answer once the request stored every document: delivered, or partly rejected.
    var storedOutcome: DeliveryOutcome {
        rejections.isEmpty ? .delivered : .partlyRejected(rejections)
    }
}
