import Foundation
import TestSupport

/// A throwaway service account for the tests: an RSA key made at test time with the `openssl` command (never
/// committed), written as a Google-style JSON key file, and the public key to check signatures with.
struct TestServiceAccount: Sendable {
    /// The service account's e-mail (the JWT issuer).
    static let clientEmail = "sensor-export@kaspa-test.iam.gserviceaccount.com"
    /// The key id (the JWT header's kid).
    static let privateKeyID = "0123456789abcdef0123456789abcdef01234567"
    /// The token URI written into the key file (the JWT audience); requests go to the fake through `token_uri`.
    static let keyTokenURI = "https://oauth2.googleapis.com/token"

    /// The folder holding the keys.
    let directory: URL
    /// The JSON key file.
    var keyFile: String { directory.appendingPathComponent("service-account.json").path }
    /// The public key, PEM.
    var publicKey: String { directory.appendingPathComponent("public.pem").path }

    /// One key per test process (RSA generation takes a moment).
    static let shared: Result<TestServiceAccount, any Error> = Result { try TestServiceAccount() }

    private init() throws {
        directory = try BuiltPlugins.makeScratchDirectory(prefix: "firebase-export-key")
        let privateKey = directory.appendingPathComponent("private.pem").path
        try Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", privateKey])
        try Self.openssl(["pkey", "-in", privateKey, "-pubout", "-out", publicKey])
        let key: [String: String] = [
            "type": "service_account",
            "project_id": "kaspa-test",
            "private_key_id": Self.privateKeyID,
            "private_key": try String(contentsOfFile: privateKey, encoding: .utf8),
            "client_email": Self.clientEmail,
            "client_id": "1234567890",
            "token_uri": Self.keyTokenURI,
        ]
        try JSONSerialization.data(withJSONObject: key).write(to: URL(fileURLWithPath: keyFile))
    }

    /// Whether `signature` is a valid RS256 signature of `message` by this account's key (checked by `openssl`).
    func verify(message: [UInt8], signature: [UInt8]) throws -> Bool {
        let name = UUID().uuidString
        let messageFile = directory.appendingPathComponent("\(name).msg")
        let signatureFile = directory.appendingPathComponent("\(name).sig")
        try Data(message).write(to: messageFile)
        try Data(signature).write(to: signatureFile)
        return
            (try? Self.openssl(
                ["dgst", "-sha256", "-verify", publicKey, "-signature", signatureFile.path, messageFile.path])) != nil
    }

    /// Runs `openssl` with `arguments`; throws with its output if it fails.
    @discardableResult
    static func openssl(_ arguments: [String]) throws -> String {
        try ExternalTool.run(["openssl"] + arguments)
    }
}

/// A compact JWT split and decoded.
struct DecodedJWT {
    /// The header object.
    let header: [String: Any]
    /// The claims object.
    let claims: [String: Any]
    /// `header.claims` as sent: what the signature covers.
    let signingInput: [UInt8]
    /// The signature bytes.
    let signature: [UInt8]

    /// Decodes `token`; nil if it is not three base64url parts with JSON objects.
    init?(_ token: String) {
        let parts = token.split(separator: ".").map(String.init)
        guard parts.count == 3, let header = Self.object(parts[0]), let claims = Self.object(parts[1]),
            let signature = Self.bytes(parts[2])
        else { return nil }
        self.header = header
        self.claims = claims
        self.signingInput = Array((parts[0] + "." + parts[1]).utf8)
        self.signature = signature
    }

    private static func bytes(_ part: String) -> [UInt8]? {
        guard !part.contains(where: { "+/=".contains($0) }) else { return nil }
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: text).map(Array.init)
    }

    private static func object(_ part: String) -> [String: Any]? {
        bytes(part).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }
}
