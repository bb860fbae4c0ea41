import Foundation

/// The dead-letter file: events a server refused for good (4xx other than 408 and 429, or a per-write refusal)
/// are appended here, one JSON line per event,
/// `{"dead_lettered_at":"…","endpoint":"…","status":400,"response":"…","event":{…}}`, and synced, so delivery
/// can move on without losing them.
struct DeadLetterFile {
    /// The file's absolute path.
    let path: String
    /// The destination recorded in each line.
    let endpoint: String

    /// Appends each event with its own status and response, and syncs the file.
    func append(_ records: [(event: ArraySlice<UInt8>, status: Int, response: String)]) throws(FileIO.Failure) {
        try FileIO.makeDirectory((path as NSString).deletingLastPathComponent)
        let time = JSONText.string(ISO8601DateFormatter().string(from: Date()))
        let endpoint = JSONText.string(endpoint)
        var bytes: [UInt8] = []
        for record in records {
            let prefix =
                #"{"dead_lettered_at":"# + time + #","endpoint":"# + endpoint + #","status":\#(record.status),"#
                + #""response":"# + JSONText.string(record.response) + #","event":"#
            bytes.append(contentsOf: prefix.utf8)
            bytes.append(contentsOf: record.event)
            bytes.append(contentsOf: "}\n".utf8)
        }
        let fd = try FileIO.open(path, O_WRONLY | O_CREAT | O_APPEND)
        defer { close(fd) }
        try FileIO.writeAll(fd, bytes, path: path)
        try FileIO.syncData(fd, path: path)
    }
}
