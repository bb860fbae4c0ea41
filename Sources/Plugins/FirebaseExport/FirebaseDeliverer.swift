import ExportDelivery
import Foundation

/// Delivers a batch to Firestore (one `documents:batchWrite`) or the Realtime Database (one multi-path `PATCH`),
/// with the configured credentials.
///
/// Answers: 2xx stores the batch (Firestore: per-write statuses decide, see ``FirestoreWrites``); 401 drops the
/// cached access token and tries once more with a new one at once, a second 401 waits a backoff (the events stay
/// spooled until the credentials or rules are fixed); no answer, 3xx, 408, 429 and 5xx back off (with the
/// server's Retry-After on 429 and 503); any other 4xx dead-letters the batch.
final class FirebaseDeliverer: BatchDeliverer {
    private let settings: FirebaseSettings
    private let client: HTTPClient
    private let tokens: AccessTokenCache?

    /// A deliverer sending with `client` (which also fetches access tokens for a service account).
    init(settings: FirebaseSettings, client: HTTPClient) {
        self.settings = settings
        self.client = client
        if case .serviceAccount(let key, let tokenURI) = settings.credentials {
            tokens = AccessTokenCache(key: key, tokenURI: tokenURI, client: client)
        } else {
            tokens = nil
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

    /// Sends `events` in one request (and fetches a token first when needed).
    func deliver(_ events: [ArraySlice<UInt8>]) -> DeliveryOutcome {
        let documents: BatchDocuments
        switch settings.target {
        case .firestore:
            documents = BatchDocuments(events) { id, _ in
                FirestoreWrites.isValidDocumentID(id)
                    ? nil : "event_id \"\(id.prefix(100))\" is not a valid document id"
            }
        case .realtimeDatabase:
            documents = BatchDocuments(events, problem: RealtimeDatabaseWrites.problem)
        }
        guard !documents.documents.isEmpty else { return documents.storedOutcome }
        for attempt in 1...2 {
            let request: HTTPClient.Request
            switch makeRequest(documents) {
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
                return outcome(status: status, retryAfter: retryAfter, body: body, documents: documents)
            }
        }
        return .retry("HTTP 401 with a new access token", after: nil)
    }

    private func outcome(status: Int, retryAfter: String?, body: [UInt8], documents: BatchDocuments)
        -> DeliveryOutcome
    {
        switch status {
        case 200..<300:
            if case .firestore = settings.target {
                return FirestoreWrites.outcome(of: body, documents: documents)
            }
            return documents.storedOutcome
        case 408, 429, 300..<400, 500..<600, ..<200:
            let wait = status == 429 || status == 503 ? retryAfter.flatMap { RetryPolicy.parseRetryAfter($0) } : nil
            return .retry("HTTP \(status) \(HTTPClient.snippet(body).prefix(200))", after: wait)
        default:
            return .rejected(status: status, response: HTTPClient.snippet(body))
        }
    }

    /// The request for `documents` with current credentials; fails when no access token could be had.
    private func makeRequest(_ documents: BatchDocuments) -> Result<HTTPClient.Request, AccessTokenCache.Failure> {
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
        case .firestore(let baseURL, let projectID, let database, let collection):
            // Both ids were checked to need no escaping (FirebaseSettings).
            let databaseName = "projects/\(projectID)/databases/\(database)"
            let documentsName = "\(databaseName)/documents"
            return .success(
                HTTPClient.Request(
                    url: "\(baseURL)/v1/\(databaseName)/documents:batchWrite",
                    headers: headers,
                    body: FirestoreWrites.body(documents.documents, collectionName: "\(documentsName)/\(collection)")
                ))
        case .realtimeDatabase(let databaseURL, let path):
            return .success(
                HTTPClient.Request(
                    method: "PATCH",
                    url: "\(databaseURL)/\(Self.percentEncoded(path, keeping: "/")).json?print=silent\(query)",
                    headers: headers,
                    body: RealtimeDatabaseWrites.body(documents.documents)
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
