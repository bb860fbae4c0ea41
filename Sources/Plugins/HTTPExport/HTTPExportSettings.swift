import ExportDelivery
import Foundation
import PluginSupport

/// The HTTP export sink's own `[sink.config]` keys (the shared ones are ``DeliverySettings``), parsed from the
/// JSON object the host passes to `create()`. README "HTTP export" documents them.
struct HTTPExportSettings {
    /// The keys read here.
    static let keys: Set<String> = ["endpoint", "gzip", "auth_header", "auth_header_env"]

    /// The `http://` or `https://` URL batches are POSTed to.
    var endpoint: String
    /// Whether bodies are gzip-compressed (`Content-Encoding: gzip`).
    var gzip: Bool
    /// The extra header line (`Name: value`) from `auth_header` or the `auth_header_env` variable, if any.
    var authHeader: String?

    /// Reads the keys; the error names the key and the reason.
    init(_ reader: SettingsReader) throws(SettingsError) {
        guard let endpoint = try reader.string("endpoint") else {
            throw SettingsError("missing required key \"endpoint\"")
        }
        self.endpoint = endpoint
        guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            url.host != nil
        else {
            throw SettingsError("\"endpoint\" must be an http:// or https:// URL, got \"\(endpoint)\"")
        }
        gzip = try reader.boolean("gzip", default: false)
        authHeader = try Self.authHeader(reader)
    }

    private static func authHeader(_ reader: SettingsReader) throws(SettingsError) -> String? {
        guard let header = try reader.secret("auth_header", orVariable: "auth_header_env") else { return nil }
        // The value is a secret: the messages never include it.
        guard let colon = header.firstIndex(of: ":"), colon != header.startIndex,
            !header.contains(where: { $0 == "\r" || $0 == "\n" })
        else {
            throw SettingsError("the auth header must look like \"Name: value\" on one line")
        }
        return header
    }
}
