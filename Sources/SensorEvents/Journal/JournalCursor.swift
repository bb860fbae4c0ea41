import Foundation
import Synchronization

/// How far one sink has got through the journal: every event with a sequence up to ``position`` has been
/// delivered to it (or refused by it for good). Persisted in `cursor-<sink>` in the journal directory.
///
/// The cursor is 8 bytes rewritten in place with one `pwrite`, so a crash leaves either the old or the new value;
/// it only ever moves forward. Advanced by the sink's worker thread, read by the journal when it trims segments.
final class JournalCursor: Sendable {
    /// The sink the cursor belongs to.
    let sinkName: String
    private let descriptor: Int32
    private let value: Atomic<UInt64>

    /// Opens (or creates, at `initialPosition`) the cursor file `path`.
    init(sinkName: String, path: String, initialPosition: UInt64) throws(JournalFileError) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw JournalFileError(operation: "cannot open \(path)") }
        var stored: UInt64 = 0
        let count = pread(descriptor, &stored, 8, 0)
        let position = count == 8 ? UInt64(littleEndian: stored) : initialPosition
        self.sinkName = sinkName
        self.descriptor = descriptor
        self.value = Atomic(position)
        if count != 8 {
            do {
                try write(position)
            } catch {
                close(descriptor)
                throw error
            }
        }
    }

    deinit {
        close(descriptor)
    }

    /// The last sequence the sink has finished.
    var position: UInt64 { value.load(ordering: .acquiring) }

    /// Moves the cursor to `sequence` (ignored if it is not ahead) and persists it.
    func advance(to sequence: UInt64) throws(JournalFileError) {
        guard sequence > value.load(ordering: .relaxed) else { return }
        try write(sequence)
        value.store(sequence, ordering: .releasing)
    }

    private func write(_ sequence: UInt64) throws(JournalFileError) {
        var bytes = sequence.littleEndian
        guard pwrite(descriptor, &bytes, 8, 0) == 8 else {
            throw JournalFileError(operation: "cannot write the cursor of sink \"\(sinkName)\"")
        }
    }
}

/// A file operation of the journal failed; `description` adds the system error (`errno` at creation).
struct JournalFileError: Error, CustomStringConvertible {
    /// What was being done.
    let operation: String
    /// The system error number.
    let code: Int32

    /// Captures `errno`.
    init(operation: String, code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }

    var description: String { "\(operation): \(String(cString: strerror(code)))" }
}
