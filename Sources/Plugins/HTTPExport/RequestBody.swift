import CCurl
import ExportDelivery
import Foundation

/// The request body, schema `kaspa-sensor.events.v1`:
/// `{"schema":"kaspa-sensor.events.v1","sensor_id":"…","batch_id":"<uuid>","events":[…]}` where `events` holds
/// each event's JSON object verbatim (as the host wrote it), in sequence order. `batch_id` names the request
/// (a new one on every attempt); receivers dedupe on each event's `event_id` (delivery is at least once).
enum RequestBody {
    /// The schema name sent in every body.
    static let schema = "kaspa-sensor.events.v1"

    /// The body for `events` (JSON objects, borrowed from the host), gzip-compressed when `gzip` is set.
    static func make(sensorID: String, events: [UnsafeRawBufferPointer], gzip: Bool) -> [UInt8] {
        let prefix =
            #"{"schema":""# + schema + #"","sensor_id":"# + JSONText.string(sensorID) + #","batch_id":""#
            + UUID().uuidString.lowercased() + #"","events":["#
        let body = JSONText.joined(events, prefix: prefix, suffix: "]}")
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
