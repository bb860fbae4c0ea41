import Foundation

/// Thin POSIX file helpers for the spool, the cursor and the dead-letter file; errors carry `errno`.
enum FileIO {
    /// A failed system call: what was attempted and `errno`.
    struct Failure: Error, CustomStringConvertible {
        /// What was attempted, e.g. "write /var/spool/segment-1.jsonl".
        let operation: String
        /// The `errno` value.
        let code: Int32

        /// "operation: strerror".
        var description: String { "\(operation): \(String(cString: strerror(code)))" }

        /// Whether retrying later may succeed (a full disk or quota, or an interruption).
        var isTransient: Bool { [ENOSPC, EDQUOT, EAGAIN, EINTR, EIO].contains(code) }
    }

    /// Opens `path` with `flags` (O_CLOEXEC added), creating it with mode 0600 if O_CREAT is set.
    static func open(_ path: String, _ flags: Int32) throws(Failure) -> Int32 {
        let fd = Foundation.open(path, flags | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(operation: "open \(path)", code: errno) }
        return fd
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(Failure) {
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "write \(path)", code: errno)
            }
            done += written
        }
    }

    /// Makes the data of `fd` durable (`fdatasync`).
    static func syncData(_ fd: Int32, path: String) throws(Failure) {
        guard fdatasync(fd) == 0 else { throw Failure(operation: "fdatasync \(path)", code: errno) }
    }

    /// Makes the entries of `directory` (created, renamed or deleted files) durable.
    static func syncDirectory(_ directory: String) throws(Failure) {
        let fd = try open(directory, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync \(directory)", code: errno) }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    static func read(_ fd: Int32, count: Int, at offset: UInt64, path: String) throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "read \(path)", code: errno)
            }
            if result == 0 { break }
            done += result
        }
        buffer.removeLast(count - done)
        return buffer
    }

    /// Replaces `path` atomically with `contents`: a synced temporary file renamed over it, then the folder synced.
    static func replaceAtomically(_ path: String, with contents: String) throws(Failure) {
        let temporary = path + ".tmp"
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do throws(Failure) {
            try writeAll(fd, Array(contents.utf8), path: temporary)
            guard fsync(fd) == 0 else { throw Failure(operation: "fsync \(temporary)", code: errno) }
            close(fd)
        } catch {
            close(fd)
            throw error
        }
        guard rename(temporary, path) == 0 else { throw Failure(operation: "rename \(temporary)", code: errno) }
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// The size of `path`, or `nil` if it does not exist.
    static func size(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_size)
    }

    /// Creates `path` and its parents (mode 0700) if missing.
    static func makeDirectory(_ path: String) throws(Failure) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(operation: "mkdir \(path)", code: errno == 0 ? EIO : errno)
        }
    }
}
