import Foundation
import TestSupport

extension FakeFirebase {
    /// The batchWrite contract: `{"writes":[{"update":{"name":…,"fields":{…}}},…]}`, answered with one
    /// `writeResults` entry and one `status` per write. Writes to refused ids get INVALID_ARGUMENT (code 3).
    func storeFirestore(_ body: [UInt8]) -> (Int, String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let writes = object["writes"] as? [[String: Any]], !writes.isEmpty, writes.count <= 500
        else {
            return (400, #"{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad writes"}}"#)
        }
        let prefix = "projects/\(projectID)/databases/(default)/documents/"
        var results: [String] = []
        var statuses: [String] = []
        var names = Set<String>()
        for write in writes {
            guard let update = write["update"] as? [String: Any], let name = update["name"] as? String,
                name.hasPrefix(prefix), let fields = update["fields"] as? [String: Any],
                let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
            else {
                return (400, #"{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad write"}}"#)
            }
            guard names.insert(name).inserted else {
                return (400, #"{"error":{"code":400,"message":"multiple writes to one document"}}"#)
            }
            let id = String(name.split(separator: "/").last ?? "")
            if state.withLock({ $0.refusedDocumentIDs.contains(id) }) {
                results.append("{}")
                statuses.append(#"{"code":3,"message":"refused by the fake"}"#)
                continue
            }
            state.withLock {
                $0.documents[name] = data
                $0.writesApplied += 1
            }
            results.append(#"{"updateTime":"2026-01-01T00:00:00.000000Z"}"#)
            statuses.append("{}")
        }
        let answer =
            #"{"writeResults":[\#(results.joined(separator: ","))],"status":[\#(statuses.joined(separator: ","))]}"#
        return (200, answer)
    }

    /// A multi-path update: every top-level key of the body replaces the child `<path>/<key>` whole.
    func storeRealtimeDatabase(path: String, body: [UInt8]) -> (Int, String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return (400, #"{"error":"Invalid data; couldn't parse JSON object."}"#)
        }
        for (key, value) in object {
            guard !key.contains(where: { ".$#[]/".contains($0) }),
                let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
            else {
                return (400, #"{"error":"Invalid key"}"#)
            }
            state.withLock {
                $0.documents[path + "/" + key] = data
                $0.writesApplied += 1
            }
        }
        return (204, "")
    }

    /// The JWT-bearer grant (RFC 7523): records the assertion and issues a token for the configured lifetime.
    func issueToken(_ request: HTTPConnection.Request, _ connection: HTTPConnection) {
        let form = Dictionary(
            String(decoding: request.body, as: UTF8.self).split(separator: "&").map { item in
                let parts = item.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
                return (parts[0], parts.count > 1 ? parts[1] : "")
            },
            uniquingKeysWith: { $1 }
        )
        guard form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer", let assertion = form["assertion"],
            assertion.split(separator: ".").count == 3,
            request.headers["content-type"] == "application/x-www-form-urlencoded"
        else {
            connection.respond(status: 400, body: #"{"error":"invalid_grant"}"#)
            return
        }
        let (token, lifetime) = state.withLock { state in
            state.assertions.append(assertion)
            let token = "fake-token-\(state.assertions.count)-\(UUID().uuidString.prefix(8))"
            state.tokens[token] = .now + .seconds(state.tokenLifetime)
            return (token, state.tokenLifetime)
        }
        connection.respond(
            status: 200, headers: ["Content-Type: application/json"],
            body: #"{"access_token":"\#(token)","expires_in":\#(lifetime),"token_type":"Bearer"}"#)
    }
}
