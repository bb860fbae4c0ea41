import Foundation

/// The dead-letter file: batches a server refused for good (4xx other than 408 and 429) are appended here, one
/// JSON line per event, `{"dead_lettered_at":"…","endpoint":"…","status":400,"response":"…","event":{…}}`,
/// and synced, so delivery can move on without losing them.
struct DeadLetterFile {
    /// The file's absolute path.
    let path: String
    /// The endpoint recorded in each line.
    let endpoint: String

    /// Appends `events` with the server's `status` and the start of its `response`, and syncs the file.
    func append(_ events: [ArraySlice<UInt8>], status: Int, response: String) throws(FileIO.Failure) {
        try FileIO.makeDirectory((path as NSString).deletingLastPathComponent)
        let time = ISO8601DateFormatter().string(from: Date())
        let prefix = Array(
            (#"{"dead_lettered_at":"# + RequestBody.jsonString(time) + #","endpoint":"#
                + RequestBody.jsonString(endpoint) + #","status":\#(status),"response":"#
                + RequestBody.jsonString(response) + #","event":"#).utf8
        )
        var bytes: [UInt8] = []
        for event in events {
            bytes.append(contentsOf: prefix)
            bytes.append(contentsOf: event)
            bytes.append(contentsOf: "}\n".utf8)
        }
        let fd = try FileIO.open(path, O_WRONLY | O_CREAT | O_APPEND)
        defer { close(fd) }
        try FileIO.writeAll(fd, bytes, path: path)
        try FileIO.syncData(fd, path: path)
    }
}
