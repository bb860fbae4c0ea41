import ExportDelivery

/// Realtime Database multi-path updates: `PATCH <database_url>/<path>.json` with `{"<event_id>": {…event…}, …}`
/// replaces each named child whole and leaves the others alone, so a retry rewrites the same children and never
/// duplicates one.
enum RealtimeDatabaseWrites {
    /// Whether `key` is a valid RTDB key: non-empty, at most 768 bytes, none of `. $ # [ ] /` or control characters.
    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 768
            && !key.utf8.contains { $0 < 0x20 || $0 == 0x7f || Array(".$#[]/".utf8).contains($0) }
    }

    /// Why `event` cannot be stored under `id` (an invalid key, its own or one inside it), or `nil`.
    static func problem(id: String, event: JSONValue) -> String? {
        guard isValidKey(id) else {
            return
                "event_id \"\(id.prefix(100))\" is not a valid Realtime Database key "
                + "(it is empty, too long, or contains . $ # [ ] / or control characters)"
        }
        guard let bad = invalidKey(in: event) else { return nil }
        return "the event has the key \"\(bad.prefix(100))\", which Realtime Database refuses (. $ # [ ] /)"
    }

    private static func invalidKey(in value: JSONValue) -> String? {
        switch value {
        case .object(let members):
            for member in members {
                if !isValidKey(member.key) { return member.key }
                if let bad = invalidKey(in: member.value) { return bad }
            }
            return nil
        case .array(let values):
            return values.lazy.compactMap(invalidKey(in:)).first
        default:
            return nil
        }
    }

    /// The request body: each document's event JSON, as spooled, under its id.
    static func body(_ documents: [BatchDocuments.Document]) -> [UInt8] {
        var body: [UInt8] = [UInt8(ascii: "{")]
        body.reserveCapacity(documents.reduce(2) { $0 + $1.json.count + $1.id.utf8.count + 4 })
        for (position, document) in documents.enumerated() {
            if position > 0 {
                body.append(UInt8(ascii: ","))
            }
            JSONText.append(document.id, to: &body)
            body.append(UInt8(ascii: ":"))
            body.append(contentsOf: document.json)
        }
        body.append(UInt8(ascii: "}"))
        return body
    }
}
