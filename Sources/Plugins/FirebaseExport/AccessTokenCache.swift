import ExportDelivery
import Foundation

/// OAuth2 access tokens for a service account: a signed assertion POSTed to the token URI
/// (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`), the answer's `access_token` kept until
/// shortly before its `expires_in` (half of it, at most a minute early), and dropped on demand after a 401.
/// The host's thread of the instance only. Tokens are secrets: no message includes one.
final class AccessTokenCache {
    /// Why no token could be had; `retryAfter` is the token endpoint's, if it sent one.
    struct Failure: Error {
        /// A sentence for the log.
        let reason: String
        /// Seconds the endpoint asked to wait.
        let retryAfter: Double?
    }

    private let key: ServiceAccountKey
    private let tokenURI: String
    private let client: HTTPClient
    private var token: String?
    private var refreshAt = Date.distantPast

    /// A cache that fetches from `tokenURI` with `client`.
    init(key: ServiceAccountKey, tokenURI: String, client: HTTPClient) {
        self.key = key
        self.tokenURI = tokenURI
        self.client = client
    }

    /// A token that is still valid, fetching a new one when there is none or it is about to expire.
    func accessToken() -> Result<String, Failure> {
        if let token, Date() < refreshAt {
            return .success(token)
        }
        return fetch()
    }

    /// Forgets the token (the server refused it): the next ``accessToken()`` fetches a new one.
    func invalidate() {
        token = nil
    }

    private func fetch() -> Result<String, Failure> {
        let requested = Date()
        guard let assertion = ServiceAccountAssertion.make(key: key, issuedAt: requested) else {
            return .failure(Failure(reason: "cannot sign the token request (libcrypto failed)", retryAfter: nil))
        }
        let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion
        let request = HTTPClient.Request(
            url: tokenURI,
            headers: ["Content-Type: application/x-www-form-urlencoded", "Accept: application/json"],
            body: Array(body.utf8)
        )
        switch client.send(request) {
        case .transportError(let message):
            return .failure(Failure(reason: "token endpoint \(tokenURI): \(message)", retryAfter: nil))
        case .response(let status, let retryAfter, let body) where !(200..<300).contains(status):
            // Google's error bodies ({"error":"invalid_grant",...}) carry no secret; they say what is wrong.
            return .failure(
                Failure(
                    reason:
                        "token endpoint \(tokenURI) answered HTTP \(status): \(HTTPClient.snippet(body).prefix(300))",
                    retryAfter: retryAfter.flatMap { RetryAfter.seconds($0) }
                )
            )
        case .response(_, _, let body):
            // Foundation's parser: whether expires_in was written as an integer does not matter here.
            let answer = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            guard let token = answer?["access_token"] as? String, !token.isEmpty else {
                return .failure(
                    Failure(reason: "token endpoint \(tokenURI) answered without an access_token", retryAfter: nil))
            }
            let lifetime = (answer?["expires_in"] as? NSNumber)?.doubleValue ?? 3600
            self.token = token
            refreshAt = requested.addingTimeInterval(lifetime - min(60, lifetime / 2))
            return .success(token)
        }
    }
}
