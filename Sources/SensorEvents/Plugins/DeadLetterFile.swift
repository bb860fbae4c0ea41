import Foundation

/// One sink's dead-letter file: the events it refused for good (`SENSOR_ERROR`, or `reject_event` for single
/// events), so that none is dropped silently. One JSON line per event,
/// `{"dead_lettered_at":"…","sink":"http","code":400,"reason":"…","sequence":12,"event":{…}}`, appended and synced
/// before the sink's journal cursor moves past the event.
///
/// The file is opened on first use (its folder created) and kept open. Bounded by `maxBytes`: beyond it events
/// are no longer written, and the worker counts them as dropped and says so. Confined to the sink's worker thread.
final class DeadLetterFile {
    /// One refused event and why.
    struct Entry {
        /// The event.
        var event: QueuedEvent
        /// The plugin's code and reason.
        var refusal: BatchVerdicts.Refusal
    }

    /// Why entries could not be written.
    enum Failure: Error, CustomStringConvertible {
        /// The file has reached its size limit.
        case full(limit: Int64)
        /// Opening, writing or syncing failed.
        case system(JournalFileError)

        var description: String {
            switch self {
            case .full(let limit): "the dead-letter file has reached its limit of \(limit) bytes"
            case .system(let error): error.description
            }
        }
    }

    /// The file's path.
    let path: String
    /// The sink named in every line.
    let sinkName: String
    /// The most bytes the file may hold.
    let maxBytes: Int64
    private var descriptor: Int32 = -1
    private var size: Int64 = 0

    /// A dead-letter file at `path` for `sinkName`, at most `maxBytes` long; nothing is opened yet.
    init(path: String, sinkName: String, maxBytes: Int64) {
        self.path = path
        self.sinkName = sinkName
        self.maxBytes = maxBytes
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
        }
    }

    /// Appends one line per entry and syncs the file; nothing is written if they would pass ``maxBytes``.
    func append(_ entries: [Entry]) throws(Failure) {
        guard !entries.isEmpty else { return }
        try openIfNeeded()
        let time = RFC3339.format(unixMicros: SinkClock.unixMicroseconds())
        var bytes: [UInt8] = []
        for entry in entries {
            bytes.append(contentsOf: #"{"dead_lettered_at":""#.utf8)
            bytes.append(contentsOf: time.utf8)
            bytes.append(contentsOf: #"","sink":"#.utf8)
            JSONWriter.string(sinkName, into: &bytes)
            bytes.append(contentsOf: #","code":\#(entry.refusal.code),"reason":"#.utf8)
            JSONWriter.string(entry.refusal.reason, into: &bytes)
            bytes.append(contentsOf: #","sequence":\#(entry.event.sequence),"event":"#.utf8)
            entry.event.event.appendJSON(to: &bytes)
            bytes.append(contentsOf: "}\n".utf8)
        }
        guard size + Int64(bytes.count) <= maxBytes else { throw .full(limit: maxBytes) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                let failure = JournalFileError(operation: "cannot write \(path)")
                // Leave no half line behind: the next append starts a line of its own.
                _ = ftruncate(descriptor, off_t(size))
                throw .system(failure)
            }
            written += result
        }
        guard fdatasync(descriptor) == 0 else { throw .system(JournalFileError(operation: "cannot sync \(path)")) }
        size += Int64(bytes.count)
    }

    private func openIfNeeded() throws(Failure) {
        guard descriptor < 0 else { return }
        let folder = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard opened >= 0 else { throw .system(JournalFileError(operation: "cannot open \(path)")) }
        var info = stat()
        fstat(opened, &info)
        descriptor = opened
        size = Int64(info.st_size)
    }
}
