import Foundation

/// The journal segment being appended to, memory-mapped: an append is a copy into the page cache, with no system
/// call, and survives the process being killed the moment the copy is done.
///
/// The file's blocks are reserved up front (`posix_fallocate`), so a full disk shows up as an error when a segment
/// is opened, never as a `SIGBUS` while copying. Bytes past the last record are zeros, which readers and recovery
/// take as the end. Closing cuts the file back to its records.
///
/// `@unchecked Sendable`: a segment is appended to under the journal's lock only; the journal's thread creates
/// the spare before handing it to the locked state, and closes a full one after taking it out of that state.
final class MappedSegment: @unchecked Sendable {
    /// The file's path when it was opened (the journal's thread may rename a segment that started as the spare).
    let path: String
    /// Bytes of records written.
    private(set) var length: Int64
    /// Bytes mapped and reserved.
    let capacity: Int64
    private let descriptor: Int32
    private let base: UnsafeMutableRawPointer

    /// Opens (or creates) `path`, whose first `length` bytes are valid records, reserving and mapping `capacity`
    /// bytes (at least `length`).
    init(path: String, length: Int64, capacity: Int64) throws(JournalFileError) {
        let capacity = max(capacity, length)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw JournalFileError(operation: "cannot open \(path)") }
        let reserved = posix_fallocate(descriptor, 0, off_t(capacity))
        guard reserved == 0 else {
            ftruncate(descriptor, off_t(length))
            close(descriptor)
            throw JournalFileError(operation: "cannot reserve \(capacity) bytes for \(path)", code: reserved)
        }
        guard let base = mmap(nil, Int(capacity), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0),
            base != MAP_FAILED
        else {
            let code = errno
            ftruncate(descriptor, off_t(length))
            close(descriptor)
            throw JournalFileError(operation: "cannot map \(path)", code: code)
        }
        self.path = path
        self.length = length
        self.capacity = capacity
        self.descriptor = descriptor
        self.base = base
    }

    /// Unmaps the segment, cuts the file back to its records and syncs it.
    deinit {
        munmap(base, Int(capacity))
        ftruncate(descriptor, off_t(length))
        fdatasync(descriptor)
        close(descriptor)
    }

    /// Lets `body` write `count` bytes after the last record, straight into the mapping; `false` (nothing
    /// written, `body` not called) if they do not fit.
    func append(count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        guard count >= 0, Int64(count) <= capacity - length else { return false }
        body(UnsafeMutableRawBufferPointer(start: base + Int(length), count: count))
        length += Int64(count)
        return true
    }
}
