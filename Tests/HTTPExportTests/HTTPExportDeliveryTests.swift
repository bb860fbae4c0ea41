import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("HTTP export: delivery through failures, retried by the host (real libHTTPExport.so, real sockets)")
struct HTTPExportDeliveryTests {
    @Test(
        "Every event arrives through 500s, 429 with Retry-After, an outage and a recovery; the host honours Retry-After"
    )
    func survivesMisbehavingReceiver() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        receiver.setBehaviour(.status(500))
        let setup = try ExportSetup(port: receiver.port)
        let dispatcher = try await setup.start()
        let first = ExportSetup.events(200)
        first.forEach(dispatcher.publish)
        #expect(try await eventually { receiver.requests.filter { $0.status == 500 }.count >= 3 })

        receiver.setBehaviour(.status(429, headers: ["Retry-After: 1"]))
        #expect(try await eventually { receiver.requests.filter { $0.status == 429 }.count >= 2 })

        try await receiver.goDown()
        let errorsWhenDown = setup.counter("http_errors")
        let second = ExportSetup.events(100, from: 200)
        second.forEach(dispatcher.publish)
        #expect(try await eventually { setup.counter("http_errors") >= errorsWhenDown + 3 })

        receiver.setBehaviour(.status(200))
        try await receiver.comeUp()
        let produced = Set((first + second).map(\.id))
        #expect(try await eventually { Set(receiver.deliveredIDs) == produced })
        await dispatcher.shutdown()

        // Retry-After: 1 — the request after a 429 came no sooner than a second after the 429 was sent. The host's
        // own backoff is at most 200 ms here, and the plugin does not retry: the host waited the server's second.
        let requests = receiver.requests
        for (index, request) in requests.enumerated().dropLast() where request.status == 429 {
            let gap = requests[index + 1].received - request.answered!
            #expect(gap >= .milliseconds(950), "request \(index + 1) came \(gap) after a 429 with Retry-After: 1")
        }
        #expect(receiver.deliveredIDs.count >= produced.count)
        #expect(setup.hostCounter(SinkMetricNames.retries) >= 5)
        #expect(setup.hostCounter(SinkMetricNames.delivered) == Int64(produced.count))
        #expect(setup.hostCounter(SinkMetricNames.deadLettered) == 0)
        #expect(setup.hostCounter(SinkMetricNames.dropped) == 0)
        for request in requests {
            let envelope = try #require(request.envelope)
            #expect(envelope["schema"] as? String == "kaspa-sensor.events.v1")
            #expect(envelope["sensor_id"] as? String == "sensor-http")
            #expect(UUID(uuidString: envelope["batch_id"] as? String ?? "") != nil)
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.eventIDs.count <= 50, "one POST per host batch (batch_max = 50)")
        }
    }

    @Test("503 with an HTTP-date Retry-After is honoured")
    func honoursRetryAfterDate() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let (madeAt, madeAtDate) = (ContinuousClock.now, Date())
        // Whole seconds: the date the server names is 5 s ahead, truncated.
        let retryAt = Date(timeIntervalSince1970: (madeAtDate.timeIntervalSince1970 + 5).rounded(.down))
        let wait = Duration.milliseconds(Int64(retryAt.timeIntervalSince(madeAtDate) * 1000))
        receiver.script([.status(503, headers: ["Retry-After: \(formatter.string(from: retryAt))"])])
        let setup = try ExportSetup(port: receiver.port)
        let dispatcher = try await setup.start()
        let events = ExportSetup.events(10)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await dispatcher.shutdown()
        let requests = receiver.requests
        try #require(requests.count >= 2 && requests[0].status == 503)
        // The 503 came before the date it names (else this proves nothing), and the retry not before that date
        // (a slow startup on a loaded machine only shortens the wait that is left).
        try #require(requests[0].answered! - madeAt < wait - .milliseconds(500), "startup took too long")
        #expect(requests[1].received - madeAt >= wait - .milliseconds(50))
    }

    @Test("A batch refused with 400 lands in the host's dead-letter file of the sink, counted; delivery moves on")
    func deadLettersRefusedBatch() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        receiver.script([.status(400)])
        let setup = try ExportSetup(port: receiver.port)
        let dispatcher = try await setup.start()
        let events = ExportSetup.events(120)
        events.forEach(dispatcher.publish)
        let ids = Set(events.map(\.id))
        #expect(try await eventually { Set(receiver.deliveredIDs).count + (try setup.deadLetters().count) == 120 })
        await dispatcher.shutdown()

        let refused = try #require(receiver.requests.first { $0.status == 400 })
        let records = try setup.deadLetters()
        #expect(records.count == refused.eventIDs.count)
        #expect(records.allSatisfy { $0["code"] as? Int == 400 && $0["sink"] as? String == ExportSetup.sinkName })
        #expect(records.allSatisfy { ($0["reason"] as? String)?.hasPrefix("HTTP 400 from http://127.0.0.1") == true })
        #expect(records.allSatisfy { ($0["reason"] as? String)?.contains("status 400") == true })
        let deadIDs = records.compactMap { ($0["event"] as? [String: Any])?["event_id"] as? String }
        #expect(deadIDs == refused.eventIDs)
        #expect(setup.hostCounter(SinkMetricNames.deadLettered) == Int64(deadIDs.count))
        #expect(setup.hostCounter(SinkMetricNames.errors) == 1)
        #expect(setup.hostCounter(SinkMetricNames.dropped) == 0)
        #expect(Set(receiver.deliveredIDs).union(deadIDs) == ids)
        #expect(Set(receiver.deliveredIDs).isDisjoint(with: deadIDs))
    }

    @Test(
        "Events not delivered when the sensor stopped (endpoint down) wait in the journal and arrive after the restart")
    func restartDeliversJournal() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        try await receiver.goDown()
        let setup = try ExportSetup(port: receiver.port)
        let events = ExportSetup.events(150)
        do {
            let first = try await setup.start(drainTimeout: .milliseconds(500))
            events.forEach(first.publish)
            #expect(try await eventually { setup.counter("http_errors") >= 2 })
            await first.shutdown()
        }
        #expect(setup.hostCounter(SinkMetricNames.delivered) == 0)
        #expect(!setup.logs.records(containing: "kept in the journal").isEmpty)

        receiver.setBehaviour(.status(200))
        try await receiver.comeUp()
        let second = try await setup.start()
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await second.shutdown()
        #expect(!setup.logs.records(containing: "replaying 150 journaled events").isEmpty)
        #expect(setup.hostCounter(SinkMetricNames.delivered) == 150)
        #expect(receiver.deliveredIDs.count == 150, "each event once: the restart resumed at the sink's cursor")
    }

    @Test("An outage longer than the sink's queue: what the queue refused is read back from the journal, nothing lost")
    func outageLongerThanTheQueue() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        try await receiver.goDown()
        let setup = try ExportSetup(port: receiver.port, host: ["queue_capacity": "100"])
        let dispatcher = try await setup.start()
        let events = ExportSetup.events(1000)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { setup.counter("http_errors") >= 2 })
        #expect(!setup.logs.records(containing: "left in the journal").isEmpty)

        receiver.setBehaviour(.status(200))
        try await receiver.comeUp()
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await dispatcher.shutdown()
        #expect(setup.hostCounter(SinkMetricNames.dropped) == 0)
        #expect(setup.hostCounter(SinkMetricNames.replayed) >= 900)
        #expect(setup.hostCounter(SinkMetricNames.delivered) == 1000)
    }

    @Test("A request that never gets an answer times out and is retried; shutdown ends a hanging request")
    func hangingReceiver() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        receiver.setBehaviour(.hang)
        let setup = try ExportSetup(port: receiver.port, config: ["request_timeout_ms": "300"])
        let dispatcher = try await setup.start()
        let events = ExportSetup.events(30)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { receiver.requests.count >= 2 })
        receiver.setBehaviour(.status(200))
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await dispatcher.shutdown()

        // A request that would hang for a minute: the host's stop_deadline (its drain deadline) ends it.
        receiver.setBehaviour(.hang)
        let slow = try ExportSetup(port: receiver.port, config: ["request_timeout_ms": "60000"])
        let stuck = try await slow.start(drainTimeout: .milliseconds(300))
        let before = receiver.requests.count
        ExportSetup.events(5).forEach(stuck.publish)
        #expect(try await eventually { receiver.requests.count > before })
        let started = ContinuousClock.now
        await stuck.shutdown()
        #expect(ContinuousClock.now - started < .seconds(4))
        #expect(slow.logs.records(containing: "did not stop").isEmpty)
        #expect(!slow.logs.records(containing: "kept in the journal").isEmpty)
    }
}
