import ExportDelivery
import Foundation

/// The signed JWT a service account exchanges for an access token (RFC 7523, Google's "OAuth 2.0 for server to
/// server applications"): header `{"alg":"RS256","typ":"JWT","kid":<private_key_id>}`, claims `iss`
/// (client_email), `scope`, `aud` (the key's token_uri), `iat` and `exp` (one hour later).
enum ServiceAccountAssertion {
    /// What the access token may do: Firestore, Realtime Database, and the identity RTDB rules see.
    static let scopes = [
        "https://www.googleapis.com/auth/datastore",
        "https://www.googleapis.com/auth/firebase.database",
        "https://www.googleapis.com/auth/userinfo.email",
    ]

    /// The compact JWT (`header.claims.signature`, base64url without padding), or `nil` if signing failed.
    static func make(key: ServiceAccountKey, issuedAt: Date) -> String? {
        let iat = Int64(issuedAt.timeIntervalSince1970)
        let header = #"{"alg":"RS256","typ":"JWT","kid":"# + JSONText.string(key.privateKeyID) + "}"
        let claims =
            #"{"iss":"# + JSONText.string(key.clientEmail) + #","scope":"#
            + JSONText.string(scopes.joined(separator: " ")) + #","aud":"# + JSONText.string(key.tokenURI)
            + #","iat":\#(iat),"exp":\#(iat + 3600)}"#
        let signingInput = base64URL(Array(header.utf8)) + "." + base64URL(Array(claims.utf8))
        guard let signature = key.signer.sign(Array(signingInput.utf8)) else { return nil }
        return signingInput + "." + base64URL(signature)
    }

    /// `bytes` in base64url without padding (RFC 7515).
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
