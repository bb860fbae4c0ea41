import ExportDelivery

/// Realtime Database multi-path updates: `PATCH <database_url>/<path>.json` with `{"<event_id>": {…event…}, …}`
/// replaces each named child whole and leaves the others alone, so a retry rewrites the same children and never
/// duplicates one. Each event is stored as the host's event JSON object, written from its typed fields.
enum RealtimeDatabaseWrites {
    /// Whether `key` is a valid RTDB key: non-empty, at most 768 bytes, none of `. $ # [ ] /` or control characters.
    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 768
            && !key.utf8.contains { $0 < 0x20 || $0 == 0x7f || Array(".$#[]/".utf8).contains($0) }
    }

    /// Why an event cannot be stored under `id` (an invalid key: its id or a field name), or `nil`.
    static func problem(id: String, members: [(key: String, value: EventMember)]) -> String? {
        guard isValidKey(id) else {
            return
                "event_id \"\(id.prefix(100))\" is not a valid Realtime Database key "
                + "(it is empty, too long, or contains . $ # [ ] / or control characters)"
        }
        guard let bad = members.first(where: { !isValidKey($0.key) }) else { return nil }
        return "the event has the key \"\(bad.key.prefix(100))\", which Realtime Database refuses (. $ # [ ] /)"
    }

    /// One child of the update: `"<id>":{…event…}`.
    static func child(id: String, members: [(key: String, value: EventMember)]) -> [UInt8] {
        var child: [UInt8] = []
        child.reserveCapacity(48 + members.count * 32)
        JSONText.append(id, to: &child)
        child.append(contentsOf: ":{".utf8)
        for (position, member) in members.enumerated() {
            if position > 0 {
                child.append(UInt8(ascii: ","))
            }
            JSONText.append(member.key, to: &child)
            child.append(UInt8(ascii: ":"))
            member.value.appendJSON(to: &child)
        }
        child.append(UInt8(ascii: "}"))
        return child
    }

    /// The request body around `children`.
    static func body(_ children: [[UInt8]]) -> [UInt8] {
        JSONText.joined(children, prefix: "{", suffix: "}")
    }
}
