import Foundation

/// The binary form of one journaled event: `[payload length u32][CRC-32 of payload u32][payload]`, little endian.
///
/// The payload starts with the event's dispatcher sequence (u64), so a reader can skip records without decoding
/// them, then the envelope and the typed fields. A compact binary form (rather than the event JSON) keeps the
/// publish path cheap and lets replay rebuild the exact ``SensorEvent``, field types included.
enum JournalRecord {
    /// Bytes before the payload.
    static let headerSize = 8
    /// The largest payload accepted when reading; anything larger is treated as corruption.
    static let maxPayloadSize = 16 << 20

    private enum Tag: UInt8 {
        case null = 0
        case int = 1
        case float = 2
        case text = 3
        case bool = 4
    }

    /// Appends the whole record (header and payload) for `event` at `sequence` to `out`.
    static func append(_ event: SensorEvent, sequence: UInt64, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: headerSize))
        appendInteger(sequence, to: &out)
        appendString(event.kind.rawValue, to: &out)
        withUnsafeBytes(of: event.eventID.uuid) { out.append(contentsOf: $0) }
        appendString(event.sensorID, to: &out)
        appendInteger(UInt64(bitPattern: event.timeUnixMicros), to: &out)
        appendInteger(event.schemaVersion, to: &out)
        appendInteger(UInt32(event.fields.count), to: &out)
        for field in event.fields {
            appendString(field.name, to: &out)
            switch field.value {
            case .null:
                out.append(Tag.null.rawValue)
            case .int(let number):
                out.append(Tag.int.rawValue)
                appendInteger(UInt64(bitPattern: number), to: &out)
            case .float(let number):
                out.append(Tag.float.rawValue)
                appendInteger(number.bitPattern, to: &out)
            case .text(let text):
                out.append(Tag.text.rawValue)
                appendString(text, to: &out)
            case .bool(let flag):
                out.append(Tag.bool.rawValue)
                out.append(flag ? 1 : 0)
            }
        }
        let payloadLength = out.count - start - headerSize
        let checksum = out.withUnsafeBytes {
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + headerSize)...]))
        }
        out.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt32(payloadLength).littleEndian, toByteOffset: start, as: UInt32.self)
            bytes.storeBytes(of: checksum.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    /// The payload length and checksum of the header at the start of `bytes` (which holds at least 8 bytes).
    static func header(_ bytes: UnsafeRawBufferPointer) -> (length: Int, checksum: UInt32) {
        (
            Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))),
            UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        )
    }

    /// The sequence a payload starts with (the payload holds at least 8 bytes).
    static func sequence(ofPayload payload: UnsafeRawBufferPointer) -> UInt64 {
        UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
    }

    /// Decodes a payload whose checksum was verified; `nil` if it is malformed.
    static func decode(payload: UnsafeRawBufferPointer) -> QueuedEvent? {
        var reader = PayloadReader(bytes: payload)
        guard let sequence = reader.integer(UInt64.self),
            let kind = reader.string(),
            let uuidBytes = reader.bytes(16),
            let sensorID = reader.string(),
            let time = reader.integer(UInt64.self),
            let schemaVersion = reader.integer(UInt32.self),
            let fieldCount = reader.integer(UInt32.self)
        else { return nil }
        var fields: [EventField] = []
        fields.reserveCapacity(Int(min(fieldCount, 1024)))
        for _ in 0..<fieldCount {
            guard let name = reader.string(), let tag = reader.bytes(1).flatMap({ Tag(rawValue: $0[0]) }) else {
                return nil
            }
            let value: EventValue
            switch tag {
            case .null:
                value = .null
            case .int:
                guard let number = reader.integer(UInt64.self) else { return nil }
                value = .int(Int64(bitPattern: number))
            case .float:
                guard let bits = reader.integer(UInt64.self) else { return nil }
                value = .float(Double(bitPattern: bits))
            case .text:
                guard let text = reader.string() else { return nil }
                value = .text(text)
            case .bool:
                guard let flag = reader.bytes(1) else { return nil }
                value = .bool(flag[0] != 0)
            }
            fields.append(EventField(name, value))
        }
        guard reader.isAtEnd else { return nil }
        let uuid = uuidBytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }
        let event = SensorEvent(
            kind: SensorEvent.Kind(rawValue: kind),
            eventID: UUID(uuid: uuid),
            sensorID: sensorID,
            timeUnixMicros: Int64(bitPattern: time),
            schemaVersion: schemaVersion,
            fields: fields
        )
        return QueuedEvent(event: event, sequence: sequence)
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func appendString(_ text: String, to out: inout [UInt8]) {
        let utf8 = text.utf8
        appendInteger(UInt32(utf8.count), to: &out)
        out.append(contentsOf: utf8)
    }
}

/// Bounds-checked sequential reads from a record payload.
private struct PayloadReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return Array(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
        guard bytes.count - offset >= MemoryLayout<T>.size else { return nil }
        defer { offset += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func string() -> String? {
        guard let length = integer(UInt32.self), bytes.count - offset >= Int(length) else { return nil }
        defer { offset += Int(length) }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))]), as: UTF8.self)
    }
}
