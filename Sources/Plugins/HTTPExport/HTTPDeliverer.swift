import ExportDelivery
import Foundation
import SensorPluginAPI

/// Delivers a host batch as POSTs of the versioned body (``RequestBody``): one per batch, or more when the
/// events' JSON passes `batch_max_bytes`. 2xx delivers a request; no answer, 5xx, 408, 429 and 3xx (redirects are
/// not followed: a misconfiguration that must not lose events) are retried by the host, after the server's
/// `Retry-After` on 429 and 503; any other status refuses the request's events for good (the host dead-letters
/// them, with the status as their code).
final class HTTPDeliverer: BatchDeliverer {
    private let settings: HTTPExportSettings
    private let batchMaxBytes: Int
    private let client: HTTPClient
    private let host: PluginHost
    private let sensorID: String
    private let headers: [String]

    /// A deliverer posting with `client` to the configured endpoint, in requests of at most `batchMaxBytes` of
    /// event JSON.
    init(settings: HTTPExportSettings, batchMaxBytes: Int, client: HTTPClient, context: DelivererContext) {
        self.settings = settings
        self.batchMaxBytes = batchMaxBytes
        self.client = client
        self.host = context.host
        self.sensorID = context.sensorID
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

    /// Consecutive runs of events whose JSON fits `batch_max_bytes` (a larger single event goes alone), each
    /// with its body. An event without JSON (none from the host) is refused.
    func parts(for events: [ExportEvent]) -> [RequestPart] {
        let jsons = events.map { sensor_event_json(host.host, $0.pointer).bytes }
        var parts: [RequestPart] = []
        var start = 0
        while start < events.count {
            var end = start
            var bytes = 0
            while end < events.count && (end == start || bytes + jsons[end].count <= batchMaxBytes) {
                bytes += jsons[end].count
                end += 1
            }
            let refused = (start..<end).filter { jsons[$0].isEmpty }.map {
                EventRejection(index: $0, status: 0, reason: "the host passed the event without its JSON")
            }
            let sent = (start..<end).filter { !jsons[$0].isEmpty }.map { jsons[$0] }
            let body = sent.isEmpty ? nil : RequestBody.make(sensorID: sensorID, events: sent, gzip: settings.gzip)
            parts.append(RequestPart(events: start..<end, body: body, refused: refused))
            start = end
        }
        return parts
    }

    /// POSTs the part's body.
    func send(_ part: RequestPart) -> DeliveryOutcome {
        switch client.send(HTTPClient.Request(url: settings.endpoint, headers: headers, body: part.body ?? [])) {
        case .response(let status, _, _) where (200..<300).contains(status):
            return .delivered
        case .response(let status, let retryAfter, let body) where Self.isRetryable(status):
            let wait = status == 429 || status == 503 ? retryAfter.flatMap { RetryAfter.seconds($0) } : nil
            return .retry("HTTP \(status) \(HTTPClient.snippet(body).prefix(200))", after: wait)
        case .response(let status, _, let body):
            return .rejected(status: status, reason: "HTTP \(status) from \(destination): \(HTTPClient.snippet(body))")
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
