package import PluginSupport

/// The `[sink.config]` keys every export sink shares: the request size limit and the HTTP client's timeouts and
/// TLS checks; and the keys they no longer read since the host owns durability (accepted with a warning for one
/// release, so existing plugins.toml files still load). README "HTTP export" documents them.
package struct DeliverySettings {
    /// The keys read here.
    package static let keys: Set<String> = [
        "batch_max_bytes", "tls_verify", "connect_timeout_ms", "request_timeout_ms",
    ]

    /// Keys of the old plugin-side spool, retries and batching, and what does their job now.
    package static let retiredKeys: [String: String] = [
        "spool_dir": "the host's journal keeps undelivered events ([plugins] journal_dir in sensor.toml)",
        "spool_max_bytes": "[plugins] journal_max_mb in sensor.toml bounds what an outage may leave undelivered",
        "retry_initial_ms": "the host retries: set retry_initial_ms on the [[sink]] entry",
        "retry_max_ms": "the host retries: set retry_max_ms on the [[sink]] entry",
        "dead_letter_path": "the host writes dead letters to <[plugins] dead_letter_dir>/<sink name>.jsonl",
        "batch_max_events": "one request per host batch: set batch_max on the [[sink]] entry",
        "batch_interval_ms": "the host batches: set flush_interval_ms on the [[sink]] entry",
    ]

    /// Most bytes of event data per request (a single larger event is sent alone): a host batch that is larger
    /// is split into several requests.
    package var batchMaxBytes: Int
    /// Whether TLS certificates and host names are verified.
    package var tlsVerify: Bool
    /// The TCP/TLS connect timeout.
    package var connectTimeoutMilliseconds: Int
    /// The whole request's timeout.
    package var requestTimeoutMilliseconds: Int

    /// Reads the shared keys.
    package init(_ reader: SettingsReader) throws(SettingsError) {
        batchMaxBytes = try reader.integer("batch_max_bytes", default: 1 << 20, in: 1024...(64 << 20))
        tlsVerify = try reader.boolean("tls_verify", default: true)
        connectTimeoutMilliseconds = try reader.integer("connect_timeout_ms", default: 5000, in: 1...600_000)
        requestTimeoutMilliseconds = try reader.integer("request_timeout_ms", default: 30_000, in: 1...3_600_000)
    }

    /// Client options with these timeouts and TLS checks, keeping at most `responseLimit` response bytes.
    package func clientOptions(responseLimit: Int) -> HTTPClient.Options {
        HTTPClient.Options(
            connectTimeoutMilliseconds: connectTimeoutMilliseconds,
            requestTimeoutMilliseconds: requestTimeoutMilliseconds,
            tlsVerify: tlsVerify,
            responseLimit: responseLimit
        )
    }
}
