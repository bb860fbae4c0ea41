import Foundation

/// The batch a sink's `write_batch` is working on, in `inflight-<sink>` in the journal directory, so that a plugin
/// that kills the process (a crash, an `abort()`) is found out at the next start instead of being handed the same
/// batch forever: the marker is written before each call and cleared after it, and one still present at start
/// means the previous process died inside that call.
///
/// The file holds the batch's first and last sequence, how many times the process has already died on it, and a
/// check word (32 bytes, one `pwrite`). It is not fsynced: what it must survive is the death of the process, and a
/// write is in the kernel's page cache as soon as `pwrite` returns; a power loss is not the plugin's fault and need
/// not be counted (and a sync per batch would cost the sink thread a disk flush per call). Confined to the sink's
/// worker thread.
final class InFlightMarker {
    /// One batch in flight.
    struct Batch: Equatable {
        /// Its first sequence.
        var first: UInt64
        /// Its last sequence.
        var last: UInt64
        /// How many processes died inside `write_batch` on a batch starting at ``first`` before this call.
        var crashes: Int
    }

    /// The files' name prefix; the sink's name follows.
    static let filePrefix = "inflight-"

    /// Its path.
    let path: String
    /// What the previous process left: the batch it died on, or `nil` after a clean stop.
    let found: Batch?
    private let descriptor: Int32
    private var isClear: Bool

    /// Opens (or creates) the marker of `sinkName` in `directory` and reads what it holds.
    init(directory: String, sinkName: String) throws(JournalFileError) {
        let path = directory + "/" + Self.filePrefix + sinkName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw JournalFileError(operation: "cannot open \(path)") }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let count = pread(descriptor, &words, 32, 0)
        let first = UInt64(littleEndian: words.0)
        let last = UInt64(littleEndian: words.1)
        let crashes = UInt64(littleEndian: words.2)
        let valid =
            count == 32 && first != 0 && first <= last && UInt64(littleEndian: words.3) == first ^ last ^ ~crashes
        self.path = path
        self.descriptor = descriptor
        self.found = valid ? Batch(first: first, last: last, crashes: Int(clamping: crashes)) : nil
        self.isClear = !valid
    }

    deinit {
        close(descriptor)
    }

    /// Marks `batch` as in flight (before `write_batch`).
    func set(_ batch: Batch) throws(JournalFileError) {
        let crashes = UInt64(batch.crashes)
        var words = (
            batch.first.littleEndian, batch.last.littleEndian, crashes.littleEndian,
            (batch.first ^ batch.last ^ ~crashes).littleEndian
        )
        guard pwrite(descriptor, &words, 32, 0) == 32 else { throw JournalFileError(operation: "cannot write \(path)") }
        isClear = false
    }

    /// Clears the marker (after `write_batch` returned, or once a crash has been dealt with).
    func clear() throws(JournalFileError) {
        guard !isClear else { return }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        guard pwrite(descriptor, &words, 32, 0) == 32 else { throw JournalFileError(operation: "cannot clear \(path)") }
        isClear = true
    }
}
