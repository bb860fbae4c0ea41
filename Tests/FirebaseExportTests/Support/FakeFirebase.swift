import Foundation
import Synchronization
import TestSupport

/// A local stand-in for Google's token endpoint, Cloud Firestore (`documents:batchWrite`) and the Realtime
/// Database (`PATCH …json`), written from the public REST documentation and independent of the plugin: it issues
/// access tokens for JWT-bearer assertions, refuses requests without a valid token or secret (401), stores
/// documents by name, and can be told to fail in the ways real servers do.
final class FakeFirebase: Sendable {
    /// A failure for the next data request (Firestore or RTDB), in script order.
    enum Fault: Sendable {
        /// Answer this status (with extra headers) without storing anything.
        case status(Int, headers: [String] = [])
        /// Store the writes, then answer this status anyway (the client cannot know they were stored).
        case applyThenStatus(Int)
        /// Store the writes, then close the connection without an answer.
        case applyThenDrop
        /// Answer 401 whatever the credentials.
        case unauthorized
    }

    /// One data request and what it was answered.
    struct Exchange: Sendable {
        /// The request.
        let request: HTTPConnection.Request
        /// The status answered; nil: the connection was dropped.
        let status: Int?
    }

    struct State {
        var tokenLifetime = 3600
        var tokens: [String: ContinuousClock.Instant] = [:]
        var assertions: [String] = []
        var faults: [Fault] = []
        var refusedDocumentIDs: Set<String> = []
        var documents: [String: Data] = [:]
        var writesApplied = 0
        var exchanges: [Exchange] = []
        var expiredTokenUses = 0
    }

    /// The project the Firestore routes belong to.
    let projectID: String
    /// A database secret accepted instead of a token, if any.
    let secret: String?
    let state = Mutex(State())
    private let server: LoopbackHTTPServer

    /// `http://127.0.0.1:<port>`.
    var baseURL: String { server.baseURL }

    /// Starts the fake on 127.0.0.1:0.
    init(projectID: String = "kaspa-test", secret: String? = nil) throws {
        self.projectID = projectID
        self.secret = secret
        // The server starts before self exists: it reaches the fake through a slot filled right after.
        let slot = Slot()
        server = try LoopbackHTTPServer { request, connection in
            slot.fake.withLock { $0 }?.handle(request, connection)
        }
        slot.fake.withLock { $0 = self }
    }

    private final class Slot: Sendable {
        let fake = Mutex<FakeFirebase?>(nil)
    }

    /// Stops serving.
    func stop() { server.stop() }

    /// Tokens issued from now on expire after `seconds`.
    func setTokenLifetime(_ seconds: Int) { state.withLock { $0.tokenLifetime = seconds } }

    /// Fails the next data requests with `faults`, one each.
    func script(_ faults: [Fault]) { state.withLock { $0.faults += faults } }

    /// Firestore refuses writes to these document ids with INVALID_ARGUMENT (per write).
    func refuseDocuments(_ ids: Set<String>) { state.withLock { $0.refusedDocumentIDs = ids } }

    /// Stored documents (Firestore: full names; RTDB: paths), each as the JSON the fake stored.
    var documents: [String: Data] { state.withLock { $0.documents } }

    /// Every data request so far.
    var exchanges: [Exchange] { state.withLock { $0.exchanges } }

    /// Every JWT assertion presented to the token endpoint.
    var assertions: [String] { state.withLock { $0.assertions } }

    private func handle(_ request: HTTPConnection.Request, _ connection: HTTPConnection) {
        if request.method == "POST" && request.path == "/token" {
            issueToken(request, connection)
            return
        }
        let fault = state.withLock { $0.faults.isEmpty ? nil : $0.faults.removeFirst() }
        var status: Int?
        switch fault {
        case .status(let code, let headers)?:
            status = code
            connection.respond(status: code, headers: headers, body: #"{"error":{"code":\#(code)}}"#)
        case .unauthorized?:
            status = 401
            connection.respond(status: 401, body: #"{"error":"Unauthorized request."}"#)
        case .applyThenStatus(let code)?:
            _ = store(request)
            status = code
            connection.respond(status: code, body: #"{"error":{"code":\#(code)}}"#)
        case .applyThenDrop?:
            _ = store(request)
        case nil:
            if !isAuthorised(request) {
                status = 401
                connection.respond(status: 401, body: #"{"error":{"code":401,"status":"UNAUTHENTICATED"}}"#)
            } else if let (code, body) = store(request) {
                status = code
                connection.respond(status: code, headers: ["Content-Type: application/json"], body: body)
            } else {
                status = 404
                connection.respond(status: 404, body: "not found")
            }
        }
        state.withLock { $0.exchanges.append(Exchange(request: request, status: status)) }
    }

    private func isAuthorised(_ request: HTTPConnection.Request) -> Bool {
        let bearer = request.headers["authorization"].flatMap { header in
            header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : nil
        }
        if let secret, bearer == secret || request.query["auth"] == secret {
            return true
        }
        guard let bearer else { return false }
        return state.withLock { state in
            guard let expiry = state.tokens[bearer] else { return false }
            guard ContinuousClock.now < expiry else {
                state.expiredTokenUses += 1
                return false
            }
            return true
        }
    }

    /// Applies a Firestore batchWrite or an RTDB PATCH; the status and body to answer, nil for an unknown route.
    private func store(_ request: HTTPConnection.Request) -> (Int, String)? {
        let batchWrite = "/v1/projects/\(projectID)/databases/(default)/documents:batchWrite"
        if request.method == "POST" && request.path == batchWrite {
            return storeFirestore(request.body)
        }
        if request.method == "PATCH" && request.path.hasSuffix(".json") {
            return storeRealtimeDatabase(path: String(request.path.dropLast(5)), body: request.body)
        }
        return nil
    }
}
