/// The `[sink.config]` keys every export sink shares: batching, the spool, retries, the dead-letter file and
/// the HTTP client's timeouts and TLS checks. README "HTTP export" documents them.
package struct DeliverySettings {
    /// The keys read here.
    package static let keys: Set<String> = [
        "batch_max_events", "batch_max_bytes", "batch_interval_ms", "tls_verify", "connect_timeout_ms",
        "request_timeout_ms", "spool_dir", "spool_max_bytes", "retry_initial_ms", "retry_max_ms", "dead_letter_path",
    ]

    /// Most events per batch.
    package var batchMaxEvents: Int
    /// Most bytes of event JSON per batch (a single larger event is sent alone).
    package var batchMaxBytes: Int
    /// How long a partial batch waits for more events before it is sent.
    package var batchIntervalMilliseconds: Int
    /// Whether TLS certificates and host names are verified.
    package var tlsVerify: Bool
    /// The TCP/TLS connect timeout.
    package var connectTimeoutMilliseconds: Int
    /// The whole request's timeout.
    package var requestTimeoutMilliseconds: Int
    /// The absolute spool folder.
    package var spoolDirectory: String
    /// The most bytes the spool may hold; beyond it `write_batch` answers RETRY.
    package var spoolMaxBytes: Int
    /// The first retry delay (the cap of the first full-jitter draw).
    package var retryInitialMilliseconds: Int
    /// The largest retry delay.
    package var retryMaxMilliseconds: Int
    /// The absolute path of the dead-letter file.
    package var deadLetterPath: String

    /// Reads the shared keys; the spool folder defaults to `<spoolPrefix>-<sink name>`, and a batch holds at most
    /// `maxBatchEvents` events (the target's own limit).
    package init(_ reader: SettingsReader, spoolPrefix: String, maxBatchEvents: Int = 100_000) throws(SettingsError) {
        batchMaxEvents = try reader.integer(
            "batch_max_events", default: min(500, maxBatchEvents), in: 1...maxBatchEvents)
        batchMaxBytes = try reader.integer("batch_max_bytes", default: 1 << 20, in: 1024...(64 << 20))
        batchIntervalMilliseconds = try reader.integer("batch_interval_ms", default: 1000, in: 0...3_600_000)
        tlsVerify = try reader.boolean("tls_verify", default: true)
        connectTimeoutMilliseconds = try reader.integer("connect_timeout_ms", default: 5000, in: 1...600_000)
        requestTimeoutMilliseconds = try reader.integer("request_timeout_ms", default: 30_000, in: 1...3_600_000)
        spoolMaxBytes = try reader.integer("spool_max_bytes", default: 256 << 20, in: (64 << 10)...(1 << 50))
        retryInitialMilliseconds = try reader.integer("retry_initial_ms", default: 500, in: 1...3_600_000)
        retryMaxMilliseconds = try reader.integer("retry_max_ms", default: 60_000, in: 1...86_400_000)
        guard retryMaxMilliseconds >= retryInitialMilliseconds else {
            throw SettingsError("\"retry_max_ms\" must not be below \"retry_initial_ms\"")
        }
        let sinkName = reader.sinkName ?? "default"
        spoolDirectory = reader.absolutePath(try reader.string("spool_dir") ?? "\(spoolPrefix)-\(sinkName)")
        deadLetterPath =
            try reader.string("dead_letter_path").map(reader.absolutePath) ?? spoolDirectory + "/dead-letter.jsonl"
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
