import CPostgres
import Foundation
import PluginSupport

/// The PostgreSQL sink's `[sink.config]` keys, parsed from the JSON object the host passes to `create()`:
///
/// - `url` (required): a libpq connection URI (`postgresql://user@host:5432/db`) or `key=value` string. Put no
///   password in it (it would sit in plugins.toml): use `password_env` or `password_file`, or libpq's own
///   `PGPASSWORD` / `~/.pgpass`.
/// - `password_env`: the name of an environment variable holding the password; `password_file`: a file holding
///   it (one line; relative to the folder of plugins.toml). Not both. Never logged.
/// - `sslmode`: passed to libpq, overriding the URL's (`disable` … `verify-full`; fleets should use
///   `verify-full`).
/// - `table_prefix`: prepended to every table and index name (default none), so that one database can hold
///   several independent stores.
/// - `connect_timeout_s` (default 10) and `statement_timeout_ms` (default 30,000; 0 for none): how long a
///   write_batch may wait on the server, which must stay below the host's `write_deadline_ms`.
///
/// Unknown keys are refused (they are usually typos); keys starting with `_` belong to the host.
struct PostgresSinkSettings {
    /// The connection URI or string, as configured.
    var url: String
    /// The password, from `password_env` or `password_file`; `nil` lets libpq find one (or use none).
    var password: String?
    /// `sslmode`, when configured.
    var sslMode: String?
    /// Prepended to table and index names.
    var tablePrefix: String
    /// libpq's `connect_timeout`, in seconds.
    var connectTimeoutSeconds: Int
    /// The session's `statement_timeout`, in milliseconds (0: none).
    var statementTimeoutMilliseconds: Int
    /// The `[[sink]]` name (for `application_name` and log lines).
    var sinkName: String
    /// Things worth a warning that do not stop the sink (a password in the URL, a readable password file).
    var warnings: [String] = []

    static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
    static let knownKeys: Set<String> = [
        "url", "password_env", "password_file", "sslmode", "table_prefix", "connect_timeout_s",
        "statement_timeout_ms",
    ]

    /// Parses the configuration; the error is a sentence for the host log, naming the key.
    static func parse(_ json: UnsafeRawBufferPointer) -> Result<PostgresSinkSettings, SettingsError> {
        do throws(SettingsError) {
            let reader = try SettingsReader(json: json)
            _ = try reader.refuseUnknownKeys(knownKeys)
            guard let url = try reader.string("url") else {
                throw SettingsError("missing required key \"url\" (a libpq URI such as postgresql://sensor@db/kaspa)")
            }
            var warnings = try checkURL(url)
            let prefix = try reader.string("table_prefix") ?? ""
            guard prefix.utf8.count <= 32, prefix.utf8.allSatisfy(isIdentifierByte),
                prefix.utf8.first.map({ !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) ?? true
            else {
                throw SettingsError(
                    "\"table_prefix\" must be at most 32 lowercase letters, digits or underscores, not starting with "
                        + "a digit, got \"\(prefix)\"")
            }
            let password: String?
            switch (try reader.string("password_env"), try reader.string("password_file")) {
            case (nil, nil):
                password = nil
            case (let variable?, nil):
                guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
                    throw SettingsError("\"password_env\": environment variable \(variable) is not set or empty")
                }
                password = value
            case (nil, let file?):
                let path = reader.absolutePath(file)
                password = try readPassword(path, warnings: &warnings)
            case (_?, _?):
                throw SettingsError("set \"password_env\" or \"password_file\", not both")
            }
            return .success(
                PostgresSinkSettings(
                    url: url,
                    password: password,
                    sslMode: try reader.choice("sslmode", of: sslModes),
                    tablePrefix: prefix,
                    connectTimeoutSeconds: try reader.integer("connect_timeout_s", default: 10, in: 1...600),
                    statementTimeoutMilliseconds: try reader.integer(
                        "statement_timeout_ms", default: 30_000, in: 0...3_600_000),
                    sinkName: reader.sinkName ?? "postgres",
                    warnings: warnings
                )
            )
        } catch {
            return .failure(error)
        }
    }

    /// The libpq keywords and values for `PQconnectdbParams` (with `expand_dbname`): the URL first, so that what
    /// follows overrides it.
    func connectionParameters(sensorID: String) -> [(String, String)] {
        var parameters = [("dbname", url)]
        if let password { parameters.append(("password", password)) }
        if let sslMode { parameters.append(("sslmode", sslMode)) }
        parameters += [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", String("kaspa-sensor \(sensorID) \(sinkName)".utf8.prefix(63)) ?? "kaspa-sensor"),
            ("client_encoding", "UTF8"),
            // A server that vanishes (power loss, a cut network) is noticed within about a minute instead of the
            // kernel's two hours; the write then answers RETRY.
            ("keepalives", "1"), ("keepalives_idle", "15"), ("keepalives_interval", "5"), ("keepalives_count", "4"),
            ("tcp_user_timeout", String(max(connectTimeoutSeconds, 30) * 1000)),
        ]
        return parameters
    }

    /// Checks the URL with libpq's own parser; returns a warning if it carries a password.
    private static func checkURL(_ url: String) throws(SettingsError) -> [String] {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &error) else {
            let reason = error.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) }
            if let error { PQfreemem(error) }
            throw SettingsError("\"url\" is not a libpq connection URI or string: \(reason ?? "out of memory")")
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val, value.pointee != 0 {
                return [
                    "\"url\" contains a password, which then sits in plugins.toml: prefer \"password_env\" or "
                        + "\"password_file\""
                ]
            }
            option += 1
        }
        return []
    }

    private static func readPassword(_ path: String, warnings: inout [String]) throws(SettingsError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("\"password_file\": cannot read \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let password = String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)[0])
            .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
        guard !password.isEmpty else {
            throw SettingsError("\"password_file\": \(path) is empty")
        }
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let permissions = attributes[.posixPermissions] as? Int, permissions & 0o077 != 0
        {
            warnings.append(
                "\"password_file\": \(path) can be read by other users (mode \(String(permissions, radix: 8))); "
                    + "chmod 600 it")
        }
        return password
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "_")
    }
}
