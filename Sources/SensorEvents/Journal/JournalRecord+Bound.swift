extension JournalRecord {
    /// The longest text value a journaled event keeps. Peer strings are capped when decoded (user agent 256
    /// bytes, Reject reason 2,048, network name 16): this is the second line of defence that makes a record
    /// that reads back as corrupt impossible, whatever a sink, plugin or future event kind puts in a field.
    static let maxTextBytes = 64 << 10

    /// `event` as the journal stores it: unchanged when it fits in a record, otherwise with every text value
    /// longer than ``maxTextBytes`` cut there (256 bytes if that is not enough) (at a character boundary) and marked `…[cut from N bytes]`.
    /// The event keeps its id, kind and every field, so delivery and deduplication are unchanged.
    static func bounded(_ event: SensorEvent) -> SensorEvent {
        // The common case costs one look at each field's length: with no text over the limit and fewer than
        // 256 fields, the payload cannot exceed 16 MiB.
        guard event.fields.contains(where: isOversized) || event.fields.count >= maxPayloadSize / maxTextBytes
        else { return event }
        var bounded = cut(event, to: maxTextBytes)
        if encodedSize(of: bounded) - headerSize > maxPayloadSize {
            // Thousands of long fields: every text value is cut short instead.
            bounded = cut(event, to: 256)
        }
        return bounded
    }

    private static func cut(_ event: SensorEvent, to limit: Int) -> SensorEvent {
        var bounded = event
        for index in bounded.fields.indices {
            guard case .text(let text) = bounded.fields[index].value, text.utf8.count > limit else { continue }
            bounded.fields[index].value = .text(cut(text, to: limit))
        }
        return bounded
    }

    private static func isOversized(_ field: EventField) -> Bool {
        if case .text(let text) = field.value { return text.utf8.count > maxTextBytes }
        return false
    }

    private static func cut(_ text: String, to limit: Int) -> String {
        let utf8 = text.utf8
        var end = utf8.index(utf8.startIndex, offsetBy: limit)
        while end > utf8.startIndex, UTF8.isContinuation(utf8[end]) {
            end = utf8.index(before: end)
        }
        return String(text[..<end]) + "…[cut from \(utf8.count) bytes]"
    }
}
