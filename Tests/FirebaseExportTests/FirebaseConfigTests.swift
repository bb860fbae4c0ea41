import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("Firebase export: configuration errors name the key and the reason")
struct FirebaseConfigTests {
    /// Invalid `[sink.config]` lines (over a valid Firestore setup) and the reason the plugin must log.
    static let badConfigs: [(target: String, config: [String: String], logged: String)] = [
        ("firestore", ["target": ""], #"missing required key "target""#),
        ("firestore", ["target": "\"bigquery\""], #""target" must be "firestore" or "rtdb", got "bigquery""#),
        ("firestore", ["colour": "\"blue\""], "unknown key(s) colour"),
        ("firestore", ["path": "\"x\""], #""path" does not apply to target = "firestore""#),
        ("rtdb", ["collection": "\"x\""], #""collection" does not apply to target = "rtdb""#),
        ("rtdb", ["database_url": ""], #"missing required key "database_url""#),
        ("rtdb", ["path": "\"a/b.c\""], #""path" must be one or more /-separated keys"#),
        ("firestore", ["collection": "\"a/b\""], #""collection" must be a collection path"#),
        ("firestore", ["firestore_base_url": "\"ftp://x\""], #""firestore_base_url" must be an http:// or https://"#),
        ("firestore", ["credentials_file": "\"/nonexistent/key.json\""], "cannot read /nonexistent/key.json"),
        ("firestore", ["credentials_file": "", "token_uri": ""], "no credentials"),
        ("firestore", ["auth_token": "\"t\"", "credentials_file": "\"k.json\""], "not both"),
        ("rtdb", ["auth_token": "\"a\"", "auth_token_env": "\"HOME\""], "not both"),
        ("rtdb", ["auth_token_env": "\"FIREBASE_EXPORT_TEST_UNSET\""], "is not set or empty"),
        ("firestore", ["batch_max_bytes": "512"], #""batch_max_bytes" must be between 1024 and 67108864"#),
        ("firestore", ["project_id": "\"a/b\""], #""project_id" may hold only"#),
    ]

    @Test("Invalid [sink.config] values are rejected with BAD_CONFIG and the plugin's reason", arguments: badConfigs)
    func rejectsBadConfig(target: String, config: [String: String], logged: String) async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        let setup = try FirebaseSetup([FirebaseSetup.firebase(fake, target: target, config: config)])
        let error = try await #require(throws: PluginLoadError.self) { try await setup.start() }
        #expect(error.code == .badConfig)
        #expect(
            !setup.logs.records(containing: logged, sink: FirebaseSetup.sinkName).isEmpty,
            "\(setup.logs.records.map(\.message))")
    }

    @Test("A key file that is not a service-account key is refused without echoing its contents")
    func rejectsBadKeyFile() async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        let directory = try BuiltPlugins.makeScratchDirectory(prefix: "firebase-bad-key")
        let file = directory.appendingPathComponent("key.json").path
        let key: [String: String] = [
            "type": "service_account", "client_email": "a@b", "private_key_id": "k",
            "private_key": "TOPSECRET-but-not-a-PEM-key",
        ]
        try JSONSerialization.data(withJSONObject: key).write(to: URL(fileURLWithPath: file))
        let setup = try FirebaseSetup([
            FirebaseSetup.firebase(fake, target: "firestore", config: ["credentials_file": "\"\(file)\""])
        ])
        let error = try await #require(throws: PluginLoadError.self) { try await setup.start() }
        #expect(error.code == .badConfig)
        let messages = setup.logs.records.map(\.message)
        #expect(messages.contains { $0.contains("is not a PEM RSA private key") })
        #expect(!messages.joined().contains("TOPSECRET"))
    }
}
