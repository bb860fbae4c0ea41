import CCurl
import ExportDelivery
import Foundation

/// The request body, schema `kaspa-sensor.events.v1`:
/// `{"schema":"kaspa-sensor.events.v1","sensor_id":"…","batch_id":"<uuid>","events":[…]}` where `events` holds
/// each event's JSON object verbatim, in spool order. `batch_id` names the batch (the same on its retries, new after a restart); receivers dedupe on
/// each event's `event_id` (delivery is at least once).
enum RequestBody {
    /// The schema name sent in every body.
    static let schema = "kaspa-sensor.events.v1"

    /// The body for `events` (JSON objects), gzip-compressed when `gzip` is set.
    static func make(sensorID: String, events: [ArraySlice<UInt8>], gzip: Bool) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(events.reduce(128) { $0 + $1.count + 1 })
        body.append(contentsOf: #"{"schema":""#.utf8)
        body.append(contentsOf: schema.utf8)
        body.append(contentsOf: #"","sensor_id":"#.utf8)
        body.append(contentsOf: JSONText.string(sensorID).utf8)
        body.append(contentsOf: #","batch_id":""#.utf8)
        body.append(contentsOf: UUID().uuidString.lowercased().utf8)
        body.append(contentsOf: #"","events":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 {
                body.append(UInt8(ascii: ","))
            }
            body.append(contentsOf: event)
        }
        body.append(contentsOf: "]}".utf8)
        return gzip ? compressed(body) : body
    }

    /// `bytes` as one gzip member (zlib, through the library libcurl links as well).
    static func compressed(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ccurl_gzip_bound(bytes.count))
        var length = output.count
        let status = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                ccurl_gzip(input.baseAddress, input.count, out.baseAddress, &length)
            }
        }
        // The output buffer is sized by compressBound, so deflate cannot run out of room.
        precondition(status == 0, "gzip failed with zlib status \(status)")
        output.removeLast(output.count - length)
        return output
    }
}
