import ExportDelivery

/// A host batch as Firebase requests: one document per event id, at most ``maxDocuments`` of them and
/// `batch_max_bytes` of encoded documents per request (a single larger document goes alone).
///
/// Within one request an event id appears once (Firestore refuses two writes to one document in a request, and
/// either way the document is the same): a repeated event replaces the earlier document. An event that cannot be
/// stored (an invalid id or key) is refused without a request.
struct DocumentParts {
    /// Firestore's limit of writes per batchWrite, used for the Realtime Database too.
    static let maxDocuments = 500

    /// Why an event (its id and members) cannot be stored, or `nil`.
    let problem: (String, [(key: String, value: EventMember)]) -> String?
    /// One document's part of a request body.
    let encode: (String, [(key: String, value: EventMember)]) -> [UInt8]
    /// The request body around encoded documents.
    let body: ([[UInt8]]) -> [UInt8]
    /// The most bytes of encoded documents per request.
    let maxBytes: Int

    private struct Document {
        var encoded: [UInt8]
        var positions: [Int]
    }

    /// The parts of `events`, in order.
    func parts(for events: [ExportEvent]) -> [RequestPart] {
        var parts: [RequestPart] = []
        var start = 0
        var documents: [Document] = []
        var byID: [String: Int] = [:]
        var bytes = 0
        var refused: [EventRejection] = []
        func close(at end: Int) {
            parts.append(
                RequestPart(
                    events: start..<end, body: documents.isEmpty ? nil : body(documents.map(\.encoded)),
                    entries: documents.map(\.positions), refused: refused))
            (start, documents, byID, bytes, refused) = (end, [], [:], 0, [])
        }
        for (position, event) in events.enumerated() {
            let id = event.eventID
            let members = event.members
            if let reason = problem(id, members) {
                refused.append(EventRejection(index: position, status: 400, reason: reason))
                continue
            }
            let encoded = encode(id, members)
            if let existing = byID[id] {
                bytes += encoded.count - documents[existing].encoded.count
                documents[existing].encoded = encoded
                documents[existing].positions.append(position)
                continue
            }
            if !documents.isEmpty && (documents.count == Self.maxDocuments || bytes + encoded.count > maxBytes) {
                close(at: position)
            }
            byID[id] = documents.count
            documents.append(Document(encoded: encoded, positions: [position]))
            bytes += encoded.count
        }
        close(at: events.count)
        return parts
    }
}
