import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("Firebase export to Firestore (real libFirebaseExport.so, local fake Firebase)")
struct FirestoreExportTests {
    @Test("batchWrite shape, typed values, document names = event ids; signed JWT exchanged for a Bearer token")
    func writesDocumentsWithServiceAccount() async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        let setup = try FirebaseSetup([FirebaseSetup.firebase(fake, target: "firestore")])
        let dispatcher = try await setup.start()
        let events = FirebaseSetup.events(120)
        events.forEach(dispatcher.publish)
        let prefix = "projects/kaspa-test/databases/(default)/documents/sensors/eu/events/"
        #expect(try await eventually { Set(fake.documents.keys) == Set(events.map { prefix + $0.id }) })
        await dispatcher.shutdown()

        for exchange in fake.exchanges {
            let request = exchange.request
            #expect(request.method == "POST")
            #expect(request.path == "/v1/projects/kaspa-test/databases/(default)/documents:batchWrite")
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.headers["authorization"]?.hasPrefix("Bearer fake-token-") == true)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            let writes = try #require(body["writes"] as? [[String: Any]])
            #expect(writes.count <= 50 && Set(body.keys) == ["writes"])
            #expect(writes.allSatisfy { Set($0.keys) == ["update"] })
        }
        let event = events[7]
        let stored = try #require(fake.documents[prefix + event.id])
        let fields = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: [String: Any]])
        #expect(fields["event_id"]?["stringValue"] as? String == event.id)
        #expect(fields["index"]?["integerValue"] as? String == "7")
        #expect(fields["time_unix_micros"]?["integerValue"] as? String == "1700000000000007")
        #expect(fields["time"]?["timestampValue"] as? String == "2023-11-14T22:13:20.000007Z")
        #expect(fields["ratio"]?["doubleValue"] as? Double == 7.5)
        #expect(fields["probe_cached"]?["booleanValue"] as? Bool == false)
        #expect(fields["probe_error"].map { $0.keys.sorted() } == ["nullValue"])
        #expect(fields["remote_ip"]?["stringValue"] as? String == "10.0.0.7")
        #expect(fields["schema_version"]?["integerValue"] as? String == "1")

        // The assertion: RS256 over header.claims by the account's key, with the documented header and claims.
        let account = try TestServiceAccount.shared.get()
        let assertions = fake.assertions
        #expect(assertions.count == 1, "one token serves every batch while it is valid")
        for assertion in assertions {
            let jwt = try #require(DecodedJWT(assertion))
            #expect(jwt.header["alg"] as? String == "RS256")
            #expect(jwt.header["typ"] as? String == "JWT")
            #expect(jwt.header["kid"] as? String == TestServiceAccount.privateKeyID)
            #expect(jwt.claims["iss"] as? String == TestServiceAccount.clientEmail)
            #expect(jwt.claims["aud"] as? String == TestServiceAccount.keyTokenURI)
            let scopes = Set((jwt.claims["scope"] as? String ?? "").split(separator: " ").map(String.init))
            #expect(
                scopes == [
                    "https://www.googleapis.com/auth/datastore", "https://www.googleapis.com/auth/firebase.database",
                    "https://www.googleapis.com/auth/userinfo.email",
                ])
            let iat = try #require(jwt.claims["iat"] as? Int)
            #expect(jwt.claims["exp"] as? Int == iat + 3600)
            #expect(abs(Double(iat) - Date().timeIntervalSince1970) < 120)
            #expect(try account.verify(message: jwt.signingInput, signature: jwt.signature))
            var tampered = jwt.signingInput
            tampered[tampered.count - 1] ^= 1
            #expect(try !account.verify(message: tampered, signature: jwt.signature))
        }
        #expect(setup.hostCounter(SinkMetricNames.delivered) == 120)
        let logged = setup.logs.records.map(\.message).joined(separator: "\n")
        #expect(!logged.contains("fake-token-") && !logged.contains("PRIVATE KEY"))
    }

    @Test("A host batch larger than Firestore's 500 writes goes as several batchWrites, each within the limit")
    func splitsAtFiveHundredWrites() async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        let sink = try FirebaseSetup.firebase(fake, target: "firestore")
        let setup = try FirebaseSetup([
            SinkSetup.Sink(
                name: sink.name, library: sink.library, config: sink.config,
                host: ["batch_max": "1200", "flush_interval_ms": "3600000"])
        ])
        let dispatcher = try await setup.start()
        let events = FirebaseSetup.events(1200)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { fake.documents.count == 1200 })
        await dispatcher.shutdown()
        // The fake records an exchange just after answering it.
        #expect(try await eventually { fake.exchanges.count >= 3 })
        let sizes = try fake.exchanges.map { exchange in
            let body = try #require(
                try JSONSerialization.jsonObject(with: Data(exchange.request.body)) as? [String: Any])
            return (body["writes"] as? [Any])?.count ?? 0
        }
        #expect(sizes == [500, 500, 200], "one write_batch of 1200 events, three requests")
        #expect(setup.hostCounter(SinkMetricNames.delivered) == 1200)
    }

    @Test("Tokens are refreshed before they expire, and once at once after a 401")
    func refreshesTokens() async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        fake.setTokenLifetime(2)
        let setup = try FirebaseSetup([FirebaseSetup.firebase(fake, target: "firestore")])
        let dispatcher = try await setup.start()
        var produced: [SensorEvent] = []
        for round in 0..<2 {
            let events = FirebaseSetup.events(10, from: round * 10)
            produced += events
            let started = ContinuousClock.now
            events.forEach(dispatcher.publish)
            #expect(try await eventually { fake.documents.count == produced.count })
            // The next round starts once the token of this one would have expired at the fake.
            #expect(try await eventually { ContinuousClock.now - started > .milliseconds(2100) })
        }
        #expect(fake.assertions.count >= 2, "a new token for each round: \(fake.assertions.count)")
        #expect(fake.state.withLock { $0.expiredTokenUses } == 0, "never sent an expired token")

        // A long-lived token first, then a 401 for it: exactly one new token, and the batch goes through.
        fake.setTokenLifetime(3600)
        let fresh = FirebaseSetup.events(10, from: 100)
        produced += fresh
        fresh.forEach(dispatcher.publish)
        #expect(try await eventually { fake.documents.count == produced.count })
        let before = fake.assertions.count
        fake.script([.unauthorized])
        let last = FirebaseSetup.events(10, from: 200)
        produced += last
        last.forEach(dispatcher.publish)
        #expect(try await eventually { fake.documents.count == produced.count })
        await dispatcher.shutdown()
        #expect(fake.assertions.count == before + 1, "the 401 fetched exactly one new token")
        #expect(fake.exchanges.filter { $0.status == 401 }.count == 1)
        #expect(setup.hostCounter(SinkMetricNames.deadLettered) == 0)
    }

    /// Failures after the writes were applied: the client cannot tell, sends the batch again, and the document
    /// ids make the second write an overwrite.
    static let appliedFailures: [FakeFirebase.Fault] = [.applyThenStatus(500), .applyThenDrop, .applyThenStatus(503)]

    @Test("Retried batches overwrite their documents: no duplicates, nothing missing", arguments: appliedFailures)
    func idempotentRetries(fault: FakeFirebase.Fault) async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        fake.script([fault, fault])
        let setup = try FirebaseSetup([FirebaseSetup.firebase(fake, target: "firestore")])
        let dispatcher = try await setup.start()
        let events = FirebaseSetup.events(80)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { setup.hostCounter(SinkMetricNames.delivered) == 80 })
        await dispatcher.shutdown()
        let ids = fake.documents.keys.map { String($0.split(separator: "/").last!) }
        #expect(ids.count == Set(ids).count)
        #expect(Set(ids) == Set(events.map(\.id)))
        #expect(fake.state.withLock { $0.writesApplied } > events.count, "some writes were applied twice")
        #expect(setup.hostCounter(SinkMetricNames.retries) >= 2)
    }

    @Test("500 and 429 are retried by the host (Retry-After honoured); 400 dead-letters the batch with the host")
    func retriesAndDeadLetters() async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        fake.script([.status(500), .status(429, headers: ["Retry-After: 1"]), .status(400)])
        let setup = try FirebaseSetup([FirebaseSetup.firebase(fake, target: "firestore")])
        let dispatcher = try await setup.start()
        let events = FirebaseSetup.events(30)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { setup.hostCounter(SinkMetricNames.deadLettered) == 30 })
        let more = FirebaseSetup.events(20, from: 30)
        more.forEach(dispatcher.publish)
        #expect(try await eventually { fake.documents.count == 20 })
        await dispatcher.shutdown()

        let exchanges = fake.exchanges
        #expect(exchanges.prefix(3).map(\.status) == [500, 429, 400])
        #expect(exchanges[2].request.received - exchanges[1].request.received >= .milliseconds(950))
        let records = try setup.deadLetters()
        #expect(records.count == 30 && records.allSatisfy { $0["code"] as? Int == 400 })
        let deadIDs = Set(records.compactMap { ($0["event"] as? [String: Any])?["event_id"] as? String })
        #expect(deadIDs == Set(events.map(\.id)))
        #expect(
            records.allSatisfy { ($0["reason"] as? String)?.contains("/documents/sensors/eu/events:") == true },
            "the reason names the collection URL")
        #expect(setup.hostCounter(SinkMetricNames.retries) >= 2)
        #expect(setup.hostCounter(SinkMetricNames.dropped) == 0)
    }

    @Test("A write refused on its own (batchWrite status INVALID_ARGUMENT) is dead-lettered alone through reject_event")
    func perWriteRefusal() async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        let events = FirebaseSetup.events(40)
        fake.refuseDocuments([events[3].id, events[17].id])
        let setup = try FirebaseSetup([FirebaseSetup.firebase(fake, target: "firestore")])
        let dispatcher = try await setup.start()
        events.forEach(dispatcher.publish)
        #expect(try await eventually { setup.hostCounter(SinkMetricNames.deadLettered) == 2 })
        await dispatcher.shutdown()
        #expect(fake.documents.count == 38)
        #expect(setup.hostCounter(SinkMetricNames.delivered) == 38)
        #expect(setup.hostCounter(SinkMetricNames.errors) == 0, "a partial refusal is an OK batch")
        let records = try setup.deadLetters()
        #expect(
            Set(records.compactMap { ($0["event"] as? [String: Any])?["event_id"] as? String })
                == [events[3].id, events[17].id])
        #expect(records.allSatisfy { ($0["reason"] as? String)?.hasPrefix("INVALID_ARGUMENT") == true })
        #expect(records.allSatisfy { $0["code"] as? Int == 400 })
    }
}
