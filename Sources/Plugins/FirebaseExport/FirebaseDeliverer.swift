import ExportDelivery
import Foundation

/// Delivers a host batch to Firestore (`documents:batchWrite`) or the Realtime Database (a multi-path `PATCH`),
/// one request per 500 documents or `batch_max_bytes`, with the configured credentials. Documents are built from
/// the events' typed fields.
///
/// Answers: 2xx stores the request (Firestore: per-write statuses decide, see ``FirestoreWrites``); 401 drops the
/// cached access token and tries once more with a new one at once, a second 401 asks the host to retry later
/// (the events wait in its journal until the credentials or rules are fixed); no answer, 3xx, 408, 429 and 5xx
/// are retried by the host (after the server's Retry-After on 429 and 503); any other 4xx refuses the request's
/// events for good (the host dead-letters them).
final class FirebaseDeliverer: BatchDeliverer {
    private let settings: FirebaseSettings
    private let client: HTTPClient
    private let tokens: AccessTokenCache?
    private let documents: DocumentParts

    /// A deliverer sending with `client` (which also fetches access tokens for a service account), in requests
    /// of at most `batchMaxBytes` of documents.
    init(settings: FirebaseSettings, batchMaxBytes: Int, client: HTTPClient) {
        self.settings = settings
        self.client = client
        if case .serviceAccount(let key, let tokenURI) = settings.credentials {
            tokens = AccessTokenCache(key: key, tokenURI: tokenURI, client: client)
        } else {
            tokens = nil
        }
        switch settings.target {
        case .firestore(_, let projectID, let database, let collection):
            let collectionName = "projects/\(projectID)/databases/\(database)/documents/\(collection)"
            documents = DocumentParts(
                problem: { id, _ in
                    FirestoreWrites.isValidDocumentID(id)
                        ? nil : "event_id \"\(id.prefix(100))\" is not a valid document id"
                },
                encode: { FirestoreWrites.write(id: $0, members: $1, collectionName: collectionName) },
                body: FirestoreWrites.body, maxBytes: batchMaxBytes)
        case .realtimeDatabase:
            documents = DocumentParts(
                problem: RealtimeDatabaseWrites.problem, encode: RealtimeDatabaseWrites.child,
                body: RealtimeDatabaseWrites.body, maxBytes: batchMaxBytes)
        }
    }

    /// Where events go (no secrets).
    var destination: String {
        switch settings.target {
        case .firestore(let baseURL, let projectID, let database, let collection):
            "\(baseURL)/v1/projects/\(projectID)/databases/\(database)/documents/\(collection)"
        case .realtimeDatabase(let databaseURL, let path):
            "\(databaseURL)/\(path).json"
        }
    }

    /// One document per event id, in requests within Firebase's limits.
    func parts(for events: [ExportEvent]) -> [RequestPart] {
        documents.parts(for: events)
    }

    /// Sends one part (and fetches a token first when needed).
    func send(_ part: RequestPart) -> DeliveryOutcome {
        for attempt in 1...2 {
            let request: HTTPClient.Request
            switch makeRequest(body: part.body ?? []) {
            case .success(let made): request = made
            case .failure(let failure): return .retry(failure.reason, after: failure.retryAfter)
            }
            switch client.send(request) {
            case .transportError(let message):
                return .retry(message, after: nil)
            case .response(401, _, let body):
                guard let tokens, attempt == 1 else {
                    return .retry(
                        "HTTP 401 (check the credentials and the security rules): "
                            + HTTPClient.snippet(body).prefix(200), after: nil)
                }
                tokens.invalidate()
            case .response(let status, let retryAfter, let body):
                return outcome(status: status, retryAfter: retryAfter, body: body, entries: part.entries)
            }
        }
        return .retry("HTTP 401 with a new access token", after: nil)
    }

    private func outcome(status: Int, retryAfter: String?, body: [UInt8], entries: [[Int]]) -> DeliveryOutcome {
        switch status {
        case 200..<300:
            if case .firestore = settings.target {
                return FirestoreWrites.outcome(of: body, entries: entries)
            }
            return .delivered
        case 408, 429, 300..<400, 500..<600, ..<200:
            let wait = status == 429 || status == 503 ? retryAfter.flatMap { RetryAfter.seconds($0) } : nil
            return .retry("HTTP \(status) \(HTTPClient.snippet(body).prefix(200))", after: wait)
        default:
            return .rejected(status: status, reason: "HTTP \(status) from \(destination): \(HTTPClient.snippet(body))")
        }
    }

    /// The request carrying `body`, with current credentials; fails when no access token could be had.
    private func makeRequest(body: [UInt8]) -> Result<HTTPClient.Request, AccessTokenCache.Failure> {
        var headers = ["Content-Type: application/json", "User-Agent: kaspa-sensor-firebase-export/1.0"]
        var query = ""
        switch settings.credentials {
        case .serviceAccount:
            switch tokens?.accessToken() {
            case .success(let token)?: headers.append("Authorization: Bearer \(token)")
            case .failure(let failure)?: return .failure(failure)
            case nil: break
            }
        case .token(let token):
            if case .realtimeDatabase = settings.target {
                query = "&auth=" + Self.percentEncoded(token)
            } else {
                headers.append("Authorization: Bearer \(token)")
            }
        }
        switch settings.target {
        case .firestore(let baseURL, let projectID, let database, _):
            // Both ids were checked to need no escaping (FirebaseSettings).
            let databaseName = "projects/\(projectID)/databases/\(database)"
            return .success(
                HTTPClient.Request(
                    url: "\(baseURL)/v1/\(databaseName)/documents:batchWrite",
                    headers: headers,
                    body: body
                ))
        case .realtimeDatabase(let databaseURL, let path):
            return .success(
                HTTPClient.Request(
                    method: "PATCH",
                    url: "\(databaseURL)/\(Self.percentEncoded(path, keeping: "/")).json?print=silent\(query)",
                    headers: headers,
                    body: body
                ))
        }
    }

    /// `text` with everything but unreserved characters (and `keeping`) percent-encoded.
    static func percentEncoded(_ text: String, keeping: String = "") -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        allowed.insert(charactersIn: keeping)
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
