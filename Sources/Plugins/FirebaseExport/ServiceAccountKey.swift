import ExportDelivery
import Foundation
import PluginSupport

/// A Google service-account JSON key file (`type = "service_account"`): who signs (`client_email`), with which
/// key (`private_key_id`, `private_key` in PEM), where tokens come from (`token_uri`) and the `project_id`.
struct ServiceAccountKey {
    /// `client_email`: the JWT's issuer.
    let clientEmail: String
    /// `private_key_id`: the JWT header's `kid`.
    let privateKeyID: String
    /// `token_uri` (Google's default when the file has none).
    let tokenURI: String
    /// `project_id`, if the file has one.
    let projectID: String?
    /// The parsed private key.
    let signer: RS256Signer

    /// Reads and checks the file at `path`. Errors name the file and the problem, never the key material.
    init(contentsOf path: String) throws(SettingsError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("\"credentials_file\": cannot read \(path)")
        }
        // Foundation's parser: the key file holds strings only.
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SettingsError("\"credentials_file\": \(path) is not a JSON object (a service-account key file)")
        }
        func field(_ name: String) throws(SettingsError) -> String {
            guard let value = json[name] as? String, !value.isEmpty else {
                throw SettingsError("\"credentials_file\": \(path) has no \"\(name)\" (is it a service-account key?)")
            }
            return value
        }
        if let type = json["type"] as? String, type != "service_account" {
            throw SettingsError("\"credentials_file\": \(path) has type \"\(type)\", not \"service_account\"")
        }
        clientEmail = try field("client_email")
        privateKeyID = try field("private_key_id")
        tokenURI = json["token_uri"] as? String ?? "https://oauth2.googleapis.com/token"
        projectID = json["project_id"] as? String
        guard let signer = RS256Signer(pem: try field("private_key")) else {
            throw SettingsError("\"credentials_file\": the \"private_key\" of \(path) is not a PEM RSA private key")
        }
        self.signer = signer
    }
}
