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

    /// The bytes ``write(_:sequence:into:)`` writes for `event`, header included.
    static func encodedSize(of event: SensorEvent) -> Int {
        var size = headerSize + 8 + 4 + event.kind.rawValue.utf8.count + 16 + 4 + event.sensorID.utf8.count + 8 + 4 + 4
        for field in event.fields {
            size += 4 + field.name.utf8.count + 1
            switch field.value {
            case .null: break
            case .int, .float: size += 8
            case .text(let text): size += 4 + text.utf8.count
            case .bool: size += 1
            }
        }
        return size
    }

    /// Writes the whole record (header and payload) for `event` at `sequence` into `out`, which holds exactly
    /// ``encodedSize(of:)`` bytes (the journal passes the mapped segment itself: no intermediate buffer).
    static func write(_ event: SensorEvent, sequence: UInt64, into out: UnsafeMutableRawBufferPointer) {
        var writer = RecordWriter(bytes: out, offset: headerSize)
        writer.integer(sequence)
        writer.string(event.kind.rawValue)
        withUnsafeBytes(of: event.eventID.uuid) { writer.raw($0) }
        writer.string(event.sensorID)
        writer.integer(UInt64(bitPattern: event.timeUnixMicros))
        writer.integer(event.schemaVersion)
        writer.integer(UInt32(event.fields.count))
        for field in event.fields {
            writer.string(field.name)
            switch field.value {
            case .null:
                writer.byte(Tag.null.rawValue)
            case .int(let number):
                writer.byte(Tag.int.rawValue)
                writer.integer(UInt64(bitPattern: number))
            case .float(let number):
                writer.byte(Tag.float.rawValue)
                writer.integer(number.bitPattern)
            case .text(let text):
                writer.byte(Tag.text.rawValue)
                writer.string(text)
            case .bool(let flag):
                writer.byte(Tag.bool.rawValue)
                writer.byte(flag ? 1 : 0)
            }
        }
        precondition(writer.offset == out.count, "journal record size mismatch")
        let payload = UnsafeRawBufferPointer(rebasing: out[headerSize...])
        out.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 0, as: UInt32.self)
        out.storeBytes(of: CRC32.checksum(payload).littleEndian, toByteOffset: 4, as: UInt32.self)
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
}

/// Sequential writes into a record's bytes, sized beforehand by ``JournalRecord/encodedSize(of:)``.
private struct RecordWriter {
    let bytes: UnsafeMutableRawBufferPointer
    var offset: Int

    mutating func byte(_ value: UInt8) {
        bytes[offset] = value
        offset += 1
    }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    mutating func raw(_ source: UnsafeRawBufferPointer) {
        precondition(bytes.count - offset >= source.count, "journal record overflow")
        if let base = source.baseAddress {
            (bytes.baseAddress! + offset).copyMemory(from: base, byteCount: source.count)
        }
        offset += source.count
    }

    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            integer(UInt32(utf8.count))
            raw(UnsafeRawBufferPointer(utf8))
        }
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
