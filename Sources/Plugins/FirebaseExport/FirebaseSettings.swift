import ExportDelivery
import Foundation
import PluginSupport

/// The Firebase export sink's own `[sink.config]` keys (the shared ones are ``DeliverySettings``). README
/// "Firebase export" documents them; every error names the key and the reason.
struct FirebaseSettings {
    /// Where documents go.
    enum Target {
        /// Cloud Firestore: `documents:batchWrite` at `baseURL`, documents `<collection>/<event_id>`.
        case firestore(baseURL: String, projectID: String, database: String, collection: String)
        /// Realtime Database: `PATCH <databaseURL>/<path>.json` keyed by event id.
        case realtimeDatabase(databaseURL: String, path: String)
    }

    /// How requests are authorised.
    enum Credentials {
        /// A service-account key: RS256-signed JWTs exchanged for OAuth2 access tokens at `tokenURI`.
        case serviceAccount(ServiceAccountKey, tokenURI: String)
        /// A database secret or Firebase ID token, sent as it is (`?auth=` for RTDB, Bearer for Firestore).
        case token(String)
    }

    /// The keys read here.
    static let keys: Set<String> = [
        "target", "credentials_file", "token_uri", "auth_token", "auth_token_env", "project_id", "database",
        "collection", "firestore_base_url", "database_url", "path",
    ]
    /// Keys of `target = "firestore"` only.
    static let firestoreKeys = ["project_id", "database", "collection", "firestore_base_url"]
    /// Keys of `target = "rtdb"` only.
    static let realtimeDatabaseKeys = ["database_url", "path"]

    /// Where documents go.
    var target: Target
    /// How requests are authorised.
    var credentials: Credentials

    /// Reads the keys (and the service-account key file, if any).
    init(_ reader: SettingsReader) throws(SettingsError) {
        guard let target = try reader.choice("target", of: ["firestore", "rtdb"]) else {
            throw SettingsError(#"missing required key "target" ("firestore" or "rtdb")"#)
        }
        let foreign = target == "firestore" ? Self.realtimeDatabaseKeys : Self.firestoreKeys
        for key in foreign {
            guard try reader.string(key) == nil else {
                throw SettingsError("\"\(key)\" does not apply to target = \"\(target)\"")
            }
        }
        credentials = try Self.credentials(reader)
        if target == "firestore" {
            self.target = try Self.firestore(reader, credentials: credentials)
        } else {
            guard let url = try reader.string("database_url") else {
                throw SettingsError(
                    #"missing required key "database_url" for target = "rtdb" "#
                        + #"(e.g. "https://<database>.firebaseio.com")"#
                )
            }
            let path = try reader.string("path") ?? "kaspa_sensor_events"
            let segments = path.split(separator: "/", omittingEmptySubsequences: true)
            guard !segments.isEmpty, segments.allSatisfy({ RealtimeDatabaseWrites.isValidKey(String($0)) }) else {
                throw SettingsError(
                    "\"path\" must be one or more /-separated keys without . $ # [ ] or control characters, "
                        + "got \"\(path)\""
                )
            }
            self.target = .realtimeDatabase(
                databaseURL: try Self.baseURL(url, key: "database_url"), path: segments.joined(separator: "/"))
        }
    }

    private static func credentials(_ reader: SettingsReader) throws(SettingsError) -> Credentials {
        let file = try reader.string("credentials_file")
        let token = try reader.secret("auth_token", orVariable: "auth_token_env")
        switch (file, token) {
        case (let file?, nil):
            let key = try ServiceAccountKey(contentsOf: reader.absolutePath(file))
            let tokenURI = try reader.string("token_uri").map { (uri) throws(SettingsError) in
                try baseURL(uri, key: "token_uri")
            }
            return .serviceAccount(key, tokenURI: tokenURI ?? key.tokenURI)
        case (nil, let token?):
            guard try reader.string("token_uri") == nil else {
                throw SettingsError("\"token_uri\" applies only with \"credentials_file\"")
            }
            // A secret: no message includes it.
            guard !token.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                throw SettingsError("the auth token must not contain spaces or line breaks")
            }
            return .token(token)
        case (nil, nil):
            throw SettingsError(
                #"no credentials: set "credentials_file" (a service-account JSON key) or "auth_token" / "#
                    + #""auth_token_env" (a database secret or Firebase ID token)"#
            )
        case (_?, _?):
            throw SettingsError(#"set "credentials_file" or "auth_token" / "auth_token_env", not both"#)
        }
    }

    private static func firestore(_ reader: SettingsReader, credentials: Credentials) throws(SettingsError) -> Target {
        var projectID = try reader.string("project_id")
        if projectID == nil, case .serviceAccount(let key, _) = credentials {
            projectID = key.projectID
        }
        guard let projectID else {
            throw SettingsError(#"missing "project_id" (required unless the credentials_file names one)"#)
        }
        let database = try reader.string("database") ?? "(default)"
        let collection = try reader.string("collection") ?? "kaspa_sensor_events"
        // Used in URL paths unescaped: letters, digits and - _ . : ( ) only (real ids are narrower still).
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:()")
        for (key, value) in [("project_id", projectID), ("database", database)]
        where !value.unicodeScalars.allSatisfy(allowed.contains) {
            throw SettingsError("\"\(key)\" may hold only letters, digits and - _ . : ( ), got \"\(value)\"")
        }
        let segments = collection.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard segments.count % 2 == 1, segments.allSatisfy(FirestoreWrites.isValidDocumentID) else {
            throw SettingsError(
                "\"collection\" must be a collection path (\"events\" or \"sensors/eu/events\": an odd number of "
                    + "non-empty /-separated ids), got \"\(collection)\""
            )
        }
        let base = try baseURL(
            try reader.string("firestore_base_url") ?? "https://firestore.googleapis.com", key: "firestore_base_url")
        return .firestore(baseURL: base, projectID: projectID, database: database, collection: collection)
    }

    /// `text` as an http(s) URL without a trailing slash, query or fragment.
    static func baseURL(_ text: String, key: String) throws(SettingsError) -> String {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            url.host != nil, url.query == nil, url.fragment == nil
        else {
            throw SettingsError("\"\(key)\" must be an http:// or https:// URL without query, got \"\(text)\"")
        }
        var trimmed = text
        while trimmed.hasSuffix("/") {
            trimmed.removeLast()
        }
        return trimmed
    }
}
