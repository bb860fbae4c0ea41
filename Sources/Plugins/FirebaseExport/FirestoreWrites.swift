import ExportDelivery
import Foundation

/// Firestore `documents:batchWrite` requests and answers.
///
/// Why batchWrite and not `commit`: each event is an independent document write (`update` without a mask, i.e. a
/// full overwrite keyed by the event id, so a retry rewrites the same document and never duplicates it). commit
/// is atomic, so one invalid event would refuse the 499 others with it; batchWrite applies writes independently
/// and answers a status per write, so a refused event is dead-lettered alone (through the host's `reject_event`)
/// and the rest are stored. Atomicity buys nothing here, since retrying overwrites are idempotent. At most 500
/// writes per request (``DocumentParts/maxDocuments``).
enum FirestoreWrites {
    /// Whether `id` is a valid document (or collection) id: non-empty UTF-8 of at most 1500 bytes, no `/`, not
    /// `.` or `..`, not `__…__`.
    static func isValidDocumentID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 1500 && !id.contains("/") && id != "." && id != ".."
            && !(id.hasPrefix("__") && id.hasSuffix("__") && id.count >= 4)
    }

    /// One document's write: `{"update":{"name":"<collectionName>/<id>","fields":{…}}}`.
    static func write(id: String, members: [(key: String, value: EventMember)], collectionName: String) -> [UInt8] {
        var write: [UInt8] = []
        write.reserveCapacity(64 + members.count * 48)
        write.append(contentsOf: #"{"update":{"name":"#.utf8)
        JSONText.append(collectionName + "/" + id, to: &write)
        write.append(contentsOf: #","fields":"#.utf8)
        FirestoreValue.appendFields(of: members, to: &write)
        write.append(contentsOf: "}}".utf8)
        return write
    }

    /// The request body around `writes`.
    static func body(_ writes: [[UInt8]]) -> [UInt8] {
        JSONText.joined(writes, prefix: #"{"writes":["#, suffix: "]}")
    }

    /// The outcome of a 2xx answer to a request whose writes stand for the events at `entries`: every write's
    /// `status` (`google.rpc.Status`, code 0 or absent = stored). Retryable codes send the batch again
    /// (overwrites are idempotent); others refuse their events for good (the host dead-letters them).
    static func outcome(of answer: [UInt8], entries: [[Int]]) -> DeliveryOutcome {
        let object = try? JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any]
        guard let statuses = object?["status"] as? [Any], statuses.count == entries.count else {
            return .retry(
                "unexpected batchWrite answer (no status per write): \(HTTPClient.snippet(answer).prefix(200))",
                after: nil)
        }
        var rejections: [EventRejection] = []
        var retryable: [String] = []
        for (position, status) in statuses.enumerated() {
            let status = status as? [String: Any]
            guard let code = (status?["code"] as? NSNumber)?.int64Value, code != 0 else { continue }
            let text = "\(GRPCCode.name(code)): \(status?["message"] as? String ?? "")"
            if GRPCCode.isRetryable(code) {
                retryable.append(text)
            } else {
                rejections += entries[position].map {
                    EventRejection(index: $0, status: GRPCCode.httpStatus(code), reason: text)
                }
            }
        }
        if let first = retryable.first {
            return .retry(
                "\(retryable.count) of \(statuses.count) writes failed, e.g. \(first.prefix(200))", after: nil)
        }
        return rejections.isEmpty ? .delivered : .partlyRejected(rejections)
    }
}

/// `google.rpc.Code` values in per-write statuses: their names, which are worth retrying, and the HTTP status
/// recorded in the dead-letter file for the others (the mapping of google/rpc/code.proto).
enum GRPCCode {
    private static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]
    private static let httpStatuses = [
        200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401,
    ]

    /// The code's name, e.g. `INVALID_ARGUMENT`.
    static func name(_ code: Int64) -> String {
        (0..<Int64(names.count)).contains(code) ? names[Int(code)] : "code \(code)"
    }

    /// CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE, UNAUTHENTICATED.
    static func isRetryable(_ code: Int64) -> Bool {
        [1, 2, 4, 8, 10, 13, 14, 16].contains(code)
    }

    /// The HTTP status Google maps the code to.
    static func httpStatus(_ code: Int64) -> Int {
        (0..<Int64(httpStatuses.count)).contains(code) ? httpStatuses[Int(code)] : 500
    }
}
