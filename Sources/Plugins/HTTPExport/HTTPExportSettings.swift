import Foundation

/// The HTTP export sink's `[sink.config]` keys, parsed from the JSON object the host passes to `create()`.
/// README "HTTP export" documents them; unknown keys are refused, keys starting with `_` belong to the host.
struct HTTPExportSettings {
    /// The `http://` or `https://` URL batches are POSTed to.
    var endpoint: String
    /// Most events per request.
    var batchMaxEvents: Int
    /// Most bytes of event JSON per request (a single larger event is sent alone).
    var batchMaxBytes: Int
    /// How long a partial batch waits for more events before it is sent.
    var batchIntervalMilliseconds: Int
    /// Whether bodies are gzip-compressed (`Content-Encoding: gzip`).
    var gzip: Bool
    /// The extra header line (`Name: value`) from `auth_header` or the `auth_header_env` variable, if any.
    var authHeader: String?
    /// Whether TLS certificates and host names are verified.
    var tlsVerify: Bool
    /// The TCP/TLS connect timeout.
    var connectTimeoutMilliseconds: Int
    /// The whole request's timeout.
    var requestTimeoutMilliseconds: Int
    /// The absolute spool folder.
    var spoolDirectory: String
    /// The most bytes the spool may hold; beyond it `write_batch` answers RETRY.
    var spoolMaxBytes: Int
    /// The first retry delay (the cap of the first full-jitter draw).
    var retryInitialMilliseconds: Int
    /// The largest retry delay.
    var retryMaxMilliseconds: Int
    /// The absolute path of the dead-letter file.
    var deadLetterPath: String

    /// Parses the configuration; the error is a sentence for the host log.
    static func parse(_ json: UnsafeRawBufferPointer) -> Result<HTTPExportSettings, SettingsError> {
        let object: [String: ConfigValue]
        do {
            object = try JSONDecoder().decode([String: ConfigValue].self, from: Data(json))
        } catch {
            return .failure(SettingsError("the configuration is not a JSON object: \(error)"))
        }
        do {
            return .success(try HTTPExportSettings(SettingsReader(object)))
        } catch {
            return .failure(error)
        }
    }

    private init(_ reader: SettingsReader) throws(SettingsError) {
        try reader.refuseUnknownKeys()
        let base = reader.configDirectory ?? FileManager.default.currentDirectoryPath
        guard let endpoint = try reader.string("endpoint") else {
            throw SettingsError("missing required key \"endpoint\"")
        }
        self.endpoint = endpoint
        guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            url.host != nil
        else {
            throw SettingsError("\"endpoint\" must be an http:// or https:// URL, got \"\(endpoint)\"")
        }
        batchMaxEvents = try reader.integer("batch_max_events", default: 500, in: 1...100_000)
        batchMaxBytes = try reader.integer("batch_max_bytes", default: 1 << 20, in: 1024...(64 << 20))
        batchIntervalMilliseconds = try reader.integer("batch_interval_ms", default: 1000, in: 0...3_600_000)
        gzip = try reader.boolean("gzip", default: false)
        tlsVerify = try reader.boolean("tls_verify", default: true)
        connectTimeoutMilliseconds = try reader.integer("connect_timeout_ms", default: 5000, in: 1...600_000)
        requestTimeoutMilliseconds = try reader.integer("request_timeout_ms", default: 30_000, in: 1...3_600_000)
        spoolMaxBytes = try reader.integer("spool_max_bytes", default: 256 << 20, in: (64 << 10)...(1 << 50))
        retryInitialMilliseconds = try reader.integer("retry_initial_ms", default: 500, in: 1...3_600_000)
        retryMaxMilliseconds = try reader.integer("retry_max_ms", default: 60_000, in: 1...86_400_000)
        guard retryMaxMilliseconds >= retryInitialMilliseconds else {
            throw SettingsError("\"retry_max_ms\" must not be below \"retry_initial_ms\"")
        }
        authHeader = try Self.authHeader(reader)
        let sinkName = reader.sinkName ?? "default"
        spoolDirectory = Self.absolute(try reader.string("spool_dir") ?? "http-spool-\(sinkName)", base: base)
        deadLetterPath =
            try reader.string("dead_letter_path").map { Self.absolute($0, base: base) }
            ?? spoolDirectory + "/dead-letter.jsonl"
    }

    private static func authHeader(_ reader: SettingsReader) throws(SettingsError) -> String? {
        let literal = try reader.string("auth_header")
        let variable = try reader.string("auth_header_env")
        let header: String
        switch (literal, variable) {
        case (nil, nil):
            return nil
        case (let literal?, nil):
            header = literal
        case (nil, let variable?):
            guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                throw SettingsError("\"auth_header_env\": environment variable \(variable) is not set or empty")
            }
            header = value
        case (_?, _?):
            throw SettingsError("set \"auth_header\" or \"auth_header_env\", not both")
        }
        // The value is a secret: the messages never include it.
        guard let colon = header.firstIndex(of: ":"), colon != header.startIndex,
            !header.contains(where: { $0 == "\r" || $0 == "\n" })
        else {
            throw SettingsError("the auth header must look like \"Name: value\" on one line")
        }
        return header
    }

    private static func absolute(_ path: String, base: String) -> String {
        guard !path.hasPrefix("/") else { return URL(fileURLWithPath: path).standardizedFileURL.path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true))
            .standardizedFileURL.path
    }
}

/// Why the configuration was rejected.
struct SettingsError: Error {
    /// A sentence for the host log.
    let message: String

    /// Creates an error with its message.
    init(_ message: String) {
        self.message = message
    }
}

/// Typed, strict access to the keys of the configuration object.
private struct SettingsReader {
    static let knownKeys: Set<String> = [
        "endpoint", "batch_max_events", "batch_max_bytes", "batch_interval_ms", "gzip", "auth_header",
        "auth_header_env", "tls_verify", "connect_timeout_ms", "request_timeout_ms", "spool_dir", "spool_max_bytes",
        "retry_initial_ms", "retry_max_ms", "dead_letter_path",
    ]

    let object: [String: ConfigValue]

    init(_ object: [String: ConfigValue]) {
        self.object = object
    }

    var configDirectory: String? {
        if case .string(let text) = object["_config_dir"] { text } else { nil }
    }

    var sinkName: String? {
        if case .string(let text) = object["_sink_name"] { text } else { nil }
    }

    func refuseUnknownKeys() throws(SettingsError) {
        let unknown = object.keys.filter { !$0.hasPrefix("_") && !Self.knownKeys.contains($0) }
        guard unknown.isEmpty else {
            throw SettingsError(
                "unknown key(s) \(unknown.sorted().joined(separator: ", ")); known keys are "
                    + Self.knownKeys.sorted().joined(separator: ", ")
            )
        }
    }

    func string(_ key: String) throws(SettingsError) -> String? {
        guard let value = object[key] else { return nil }
        guard case .string(let text) = value, !text.isEmpty else {
            throw SettingsError("\"\(key)\" must be a non-empty string")
        }
        return text
    }

    func boolean(_ key: String, default fallback: Bool) throws(SettingsError) -> Bool {
        guard let value = object[key] else { return fallback }
        guard case .boolean(let flag) = value else {
            throw SettingsError("\"\(key)\" must be true or false")
        }
        return flag
    }

    func integer(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws(SettingsError) -> Int {
        guard let value = object[key] else { return fallback }
        guard case .integer(let integer) = value else {
            throw SettingsError("\"\(key)\" must be an integer")
        }
        guard range.contains(integer) else {
            throw SettingsError(
                "\"\(key)\" must be between \(range.lowerBound) and \(range.upperBound), got \(integer)")
        }
        return integer
    }
}

/// One value of the configuration object, typed as JSON typed it (TOML values arrive as JSON).
private enum ConfigValue: Decodable {
    case boolean(Bool)
    case integer(Int)
    case string(String)
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .boolean(flag)
        } else if let integer = try? container.decode(Int.self) {
            self = .integer(integer)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else {
            self = .other
        }
    }
}
