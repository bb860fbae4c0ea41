import ExportDelivery
import Foundation

/// Delivers a batch as one POST of the versioned body (``RequestBody``): 2xx delivers it; no answer, 5xx, 408,
/// 429 and 3xx (redirects are not followed: a misconfiguration that must not lose events) are retried, with the
/// server's `Retry-After` on 429 and 503; any other status refuses the batch for good (dead letter).
final class HTTPDeliverer: BatchDeliverer {
    private let settings: HTTPExportSettings
    private let client: HTTPClient
    private let sensorID: String
    private let headers: [String]

    /// A deliverer posting with `client` to the configured endpoint.
    init(settings: HTTPExportSettings, client: HTTPClient, sensorID: String) {
        self.settings = settings
        self.client = client
        self.sensorID = sensorID
        var headers = ["Content-Type: application/json", "User-Agent: kaspa-sensor-http-export/1.0"]
        if settings.gzip {
            headers.append("Content-Encoding: gzip")
        }
        if let auth = settings.authHeader {
            headers.append(auth)
        }
        self.headers = headers
    }

    /// Where events go (no secrets).
    var destination: String { settings.endpoint }

    /// Sends `events` in one request (and fetches a token first when needed).
    func deliver(_ events: [ArraySlice<UInt8>]) -> DeliveryOutcome {
        let body = RequestBody.make(sensorID: sensorID, events: events, gzip: settings.gzip)
        switch client.send(HTTPClient.Request(url: settings.endpoint, headers: headers, body: body)) {
        case .response(let status, _, _) where (200..<300).contains(status):
            return .delivered
        case .response(let status, let retryAfter, let body) where Self.isRetryable(status):
            let wait = status == 429 || status == 503 ? retryAfter.flatMap { RetryPolicy.parseRetryAfter($0) } : nil
            return .retry("HTTP \(status) \(HTTPClient.snippet(body).prefix(200))", after: wait)
        case .response(let status, _, let body):
            return .rejected(status: status, response: HTTPClient.snippet(body))
        case .transportError(let message):
            return .retry(message, after: nil)
        }
    }

    /// 408, 429, 5xx and 3xx (redirects are not followed: a misconfiguration that must not lose events).
    static func isRetryable(_ status: Int) -> Bool {
        status == 408 || status == 429 || (500..<600).contains(status) || (300..<400).contains(status)
            || status < 200
    }
}
