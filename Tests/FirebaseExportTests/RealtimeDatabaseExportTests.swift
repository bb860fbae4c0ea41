import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("Firebase export to the Realtime Database (real libFirebaseExport.so, local fake Firebase)")
struct RealtimeDatabaseExportTests {
    @Test("Multi-path PATCH keyed by event id, with a database secret from the environment as ?auth=")
    func patchesWithSecret() async throws {
        let secret = "secret-\(UUID().uuidString)"
        let fake = try FakeFirebase(secret: secret)
        defer { fake.stop() }
        let variable = "FIREBASE_EXPORT_TEST_SECRET_\(UUID().uuidString.prefix(8))"
        setenv(variable, secret, 1)
        fake.script([.status(500)])
        let setup = try FirebaseSetup([
            FirebaseSetup.firebase(fake, target: "rtdb", config: ["auth_token_env": "\"\(variable)\""])
        ])
        let dispatcher = try await setup.start()
        let events = FirebaseSetup.events(70)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { Set(fake.documents.keys) == Set(events.map { "/kaspa/events/" + $0.id }) })
        await dispatcher.shutdown()

        #expect(fake.exchanges.first?.status == 500)
        for exchange in fake.exchanges.dropFirst() {
            let request = exchange.request
            #expect(exchange.status == 204)
            #expect(request.method == "PATCH")
            #expect(request.path == "/kaspa/events.json")
            #expect(request.query == ["auth": secret, "print": "silent"])
            #expect(request.headers["authorization"] == nil)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            for (key, value) in body {
                let event = try #require(value as? [String: Any])
                #expect(event["event_id"] as? String == key)
            }
        }
        let event = events[5]
        let stored = try #require(fake.documents["/kaspa/events/" + event.id])
        let object = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: Any])
        #expect(object["index"] as? Int == 5 && object["remote_ip"] as? String == "10.0.0.5")
        #expect(fake.assertions.isEmpty)
        #expect(!setup.logs.records.map(\.message).joined().contains(secret))
    }

    @Test("With a service account, RTDB requests carry the Bearer access token")
    func patchesWithServiceAccount() async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        let setup = try FirebaseSetup([FirebaseSetup.firebase(fake, target: "rtdb")])
        let dispatcher = try await setup.start()
        let events = FirebaseSetup.events(20)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { fake.documents.count == 20 })
        await dispatcher.shutdown()
        #expect(fake.assertions.count == 1)
        #expect(
            fake.exchanges.allSatisfy { $0.request.headers["authorization"]?.hasPrefix("Bearer fake-token-") == true })
        #expect(fake.exchanges.allSatisfy { $0.request.query["auth"] == nil })
    }
}
