import Foundation
import SensorPluginAPI
import Synchronization

/// An event on its way to one sink, with the dispatcher-assigned sequence number.
struct QueuedEvent: Sendable {
    /// The event.
    var event: SensorEvent
    /// Its place in the dispatcher-wide sequence (strictly increasing).
    var sequence: UInt64
}

/// Turns a batch of events into the C layout of the plugin ABI: contiguous `sensor_event`s, contiguous
/// `sensor_field`s, an array of event pointers, and one byte arena holding every string (each NUL-terminated).
///
/// The buffers are reused from batch to batch, so a steady state allocates nothing per event or field. Confined to
/// one worker thread: ``json(for:)`` and ``position(of:)`` answer only on the thread inside
/// ``withMarshalledBatch(_:includeJSON:_:)``; a plugin calling the host from another thread is turned away by
/// comparing thread ids (atomic), before anything the worker thread writes is read.
final class EventBatchMarshaller {
    /// The thread inside ``withMarshalledBatch(_:includeJSON:_:)``'s body, or 0.
    private let activeThread = Atomic<UInt>(0)
    /// The reusable buffers; moved out of the object while a batch is laid out, so the hot loops work on a local
    /// value (no dynamic exclusivity checks on class properties).
    private var storage = Buffers()
    /// The batch `body` is running for, to build JSON on request.
    private var inProgress: InProgress?
    /// JSON texts built on request for the batch in progress; freed when it ends.
    private var requested: [UnsafeMutableBufferPointer<CChar>] = []

    private struct InProgress {
        let batch: ArraySlice<QueuedEvent>
        let first: UnsafePointer<sensor_event>
    }

    /// Creates a marshaller with empty buffers.
    init() {}

    /// Lays out `batch` and calls `body` with the event pointer array and its length. Everything `body` receives
    /// is valid only until it returns: exactly one `write_batch` call (or several, when retrying the same batch).
    /// Without `includeJSON` each event's `json` is empty, and ``json(for:)`` builds it when asked.
    func withMarshalledBatch<Result>(
        _ batch: ArraySlice<QueuedEvent>,
        includeJSON: Bool = true,
        _ body: (UnsafePointer<UnsafePointer<sensor_event>?>, Int) -> Result
    ) -> Result {
        var buffers = Buffers()
        swap(&buffers, &storage)
        defer { swap(&buffers, &storage) }
        buffers.layOut(batch, includeJSON: includeJSON)
        return buffers.withPointers { events, count in
            inProgress = events[0].map { InProgress(batch: batch, first: $0) }
            activeThread.store(UInt(pthread_self()), ordering: .releasing)
            defer {
                activeThread.store(0, ordering: .releasing)
                inProgress = nil
                releaseRequestedJSON()
            }
            return body(events, count)
        }
    }

    /// Frees the JSON built by ``json(for:)`` so far; the worker calls it after every `write_batch` call (a batch
    /// retried for hours must not pile up copies).
    func releaseRequestedJSON() {
        for text in requested {
            text.deallocate()
        }
        requested.removeAll(keepingCapacity: true)
    }

    /// Whether the calling thread is inside ``withMarshalledBatch(_:includeJSON:_:)``'s `body`: where the plugin
    /// ABI's per-batch host callbacks (`event_json`, `retry_after`, `reject_event`) are honoured.
    var isInBatchOnThisThread: Bool {
        activeThread.load(ordering: .acquiring) == UInt(pthread_self())
    }

    /// The position in the batch of `event`, when it is one of the batch whose `body` is running on this thread.
    func position(of event: UnsafePointer<sensor_event>) -> Int? {
        guard isInBatchOnThisThread, let inProgress else { return nil }
        let index = event - inProgress.first
        return index >= 0 && index < inProgress.batch.count ? index : nil
    }

    /// The JSON of `event`, one of the batch whose `body` is running on this thread (else empty), valid until
    /// ``releaseRequestedJSON()``: `host->event_json` of the plugin ABI.
    func json(for event: UnsafePointer<sensor_event>) -> sensor_str {
        guard let index = position(of: event), let inProgress else { return sensor_str(ptr: nil, len: 0) }
        var bytes: [UInt8] = []
        inProgress.batch[inProgress.batch.startIndex + index].event.appendJSON(to: &bytes)
        bytes.append(0)
        let text = UnsafeMutableBufferPointer<CChar>.allocate(capacity: bytes.count)
        bytes.withUnsafeBytes { source in
            _ = UnsafeMutableRawBufferPointer(text).initializeMemory(as: UInt8.self, from: source)
        }
        requested.append(text)
        return sensor_str(ptr: text.baseAddress, len: bytes.count - 1)
    }
}

private struct Buffers {
    var events: [sensor_event] = []
    var fields: [sensor_field] = []
    var pointers: [UnsafePointer<sensor_event>?] = []
    var bytes: [UInt8] = []
    /// Arena offsets of each event's kind, event_id, sensor_id and json, then the index of its first field.
    var eventOffsets: [Int] = []
    /// Arena offsets of each field's name and text value (offset 0 is an empty string).
    var fieldOffsets: [Int] = []

    mutating func withPointers<Result>(
        _ body: (UnsafePointer<UnsafePointer<sensor_event>?>, Int) -> Result
    ) -> Result {
        let eventOffsets = self.eventOffsets
        let fieldOffsets = self.fieldOffsets
        var pointers = self.pointers
        defer { self.pointers = pointers }
        return bytes.withUnsafeBufferPointer { arena in
            // Unsafe: string pointers are resolved only now, after the arena has stopped growing.
            let base = UnsafeRawPointer(arena.baseAddress!).assumingMemoryBound(to: CChar.self)
            return fields.withUnsafeMutableBufferPointer { fieldBuffer in
                for index in fieldBuffer.indices {
                    fieldBuffer[index].name.ptr = base + fieldOffsets[2 * index]
                    fieldBuffer[index].text_value.ptr = base + fieldOffsets[2 * index + 1]
                }
                return events.withUnsafeMutableBufferPointer { eventBuffer in
                    pointers.removeAll(keepingCapacity: true)
                    for index in eventBuffer.indices {
                        let offsets = 5 * index
                        eventBuffer[index].kind.ptr = base + eventOffsets[offsets]
                        eventBuffer[index].event_id.ptr = base + eventOffsets[offsets + 1]
                        eventBuffer[index].sensor_id.ptr = base + eventOffsets[offsets + 2]
                        eventBuffer[index].json.ptr = base + eventOffsets[offsets + 3]
                        if eventBuffer[index].field_count > 0 {
                            let first = fieldBuffer.baseAddress! + eventOffsets[offsets + 4]
                            eventBuffer[index].fields = UnsafePointer(first)
                        }
                        pointers.append(UnsafePointer(eventBuffer.baseAddress! + index))
                    }
                    return pointers.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
                }
            }
        }
    }

    mutating func layOut(_ batch: ArraySlice<QueuedEvent>, includeJSON: Bool) {
        events.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        eventOffsets.removeAll(keepingCapacity: true)
        fieldOffsets.removeAll(keepingCapacity: true)
        // The arena is moved to a local while it is written, so the writer closure can append to the other buffers.
        var arena: [UInt8] = []
        swap(&arena, &bytes)
        defer { swap(&arena, &bytes) }
        arena.removeAll(keepingCapacity: true)
        arena.append(0)
        for queued in batch {
            let first = arena.count
            let bound = Self.arenaBound(of: queued.event, includeJSON: includeJSON)
            JSONByteWriter.append(to: &arena, reserving: bound) {
                layOut(queued, at: first, includeJSON: includeJSON, into: &$0)
            }
        }
    }

    /// The most arena bytes ``layOut(_:at:includeJSON:into:)`` writes for `event`: its strings, each with a NUL.
    private static func arenaBound(of event: SensorEvent, includeJSON: Bool) -> Int {
        var bound = event.kind.rawValue.utf8.count + 37 + event.sensorID.utf8.count + 2
        if includeJSON { bound += event.jsonBound + 1 }
        for field in event.fields {
            bound += field.name.utf8.count + 1
            if case .text(let text) = field.value { bound += text.utf8.count + 1 }
        }
        return bound
    }

    /// Writes one event's strings into the arena (which holds `first` bytes before them) and appends its
    /// `sensor_event`, `sensor_field`s and arena offsets.
    private mutating func layOut(
        _ queued: QueuedEvent,
        at first: Int,
        includeJSON: Bool,
        into writer: inout JSONByteWriter
    ) {
        let event = queued.event
        let kind = Self.terminated(event.kind.rawValue, at: first, into: &writer)
        let eventID = first + writer.count
        writer.uuid(event.eventID)
        writer.byte(0)
        let sensorID = Self.terminated(event.sensorID, at: first, into: &writer)
        // Without JSON, `json` points at the empty string at offset 0.
        var json = (offset: 0, length: 0)
        if includeJSON {
            json.offset = first + writer.count
            writer.event(event)
            json.length = first + writer.count - json.offset
            writer.byte(0)
        }
        eventOffsets.append(kind.offset)
        eventOffsets.append(eventID)
        eventOffsets.append(sensorID.offset)
        eventOffsets.append(json.offset)
        eventOffsets.append(fields.count)
        for field in event.fields {
            appendField(field, at: first, into: &writer)
        }
        events.append(
            sensor_event(
                struct_size: sensor_event_struct_size(),
                schema_version: event.schemaVersion,
                sequence: queued.sequence,
                time_unix_micros: event.timeUnixMicros,
                kind: sensor_str(ptr: nil, len: kind.length),
                event_id: sensor_str(ptr: nil, len: 36),
                sensor_id: sensor_str(ptr: nil, len: sensorID.length),
                json: sensor_str(ptr: nil, len: json.length),
                fields: nil,
                field_count: event.fields.count
            )
        )
    }

    private mutating func appendField(_ field: EventField, at first: Int, into writer: inout JSONByteWriter) {
        let name = Self.terminated(field.name, at: first, into: &writer)
        var type = SENSOR_FIELD_NULL
        var integer: Int64 = 0
        var float: Double = 0
        var text = (offset: 0, length: 0)
        switch field.value {
        case .null:
            break
        case .int(let value):
            type = SENSOR_FIELD_INT
            integer = value
        case .float(let value):
            type = SENSOR_FIELD_FLOAT
            float = value
        case .bool(let value):
            type = SENSOR_FIELD_BOOL
            integer = value ? 1 : 0
        case .text(let value):
            type = SENSOR_FIELD_TEXT
            text = Self.terminated(value, at: first, into: &writer)
        }
        fieldOffsets.append(name.offset)
        fieldOffsets.append(text.offset)
        fields.append(
            sensor_field(
                name: sensor_str(ptr: nil, len: name.length),
                type: type,
                reserved: 0,
                int_value: integer,
                float_value: float,
                text_value: sensor_str(ptr: nil, len: text.length)
            )
        )
    }

    /// Writes `text` and a NUL; its arena offset and length.
    private static func terminated(
        _ text: String,
        at first: Int,
        into writer: inout JSONByteWriter
    ) -> (offset: Int, length: Int) {
        let offset = first + writer.count
        writer.unescaped(text)
        let length = first + writer.count - offset
        writer.byte(0)
        return (offset, length)
    }
}
