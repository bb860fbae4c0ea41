import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("HTTP export: delivery through failures (real libHTTPExport.so, real sockets)")
struct HTTPExportDeliveryTests {
    @Test("Every event arrives through 500s, 429 with Retry-After, an outage and a recovery; Retry-After is honoured")
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

        // Retry-After: 1 — the request after a 429 came no sooner than a second after the 429 was sent.
        let requests = receiver.requests
        for (index, request) in requests.enumerated().dropLast() where request.status == 429 {
            let gap = requests[index + 1].received - request.answered!
            #expect(gap >= .milliseconds(950), "request \(index + 1) came \(gap) after a 429 with Retry-After: 1")
        }
        #expect(receiver.deliveredIDs.count >= produced.count)
        #expect(setup.counter("retries") >= 5)
        #expect(setup.counter("delivered") >= Int64(produced.count))
        #expect(setup.counter("dead_lettered") == 0)
        #expect(setup.gauge("spool_events") == 0)
        #expect(setup.hostCounter(SinkMetricNames.dropped) == 0)
        for request in requests {
            let envelope = try #require(request.envelope)
            #expect(envelope["schema"] as? String == "kaspa-sensor.events.v1")
            #expect(envelope["sensor_id"] as? String == "sensor-http")
            #expect(UUID(uuidString: envelope["batch_id"] as? String ?? "") != nil)
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.eventIDs.count <= 50)
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
        let retryAt = formatter.string(from: Date(timeIntervalSinceNow: 3))
        receiver.script([.status(503, headers: ["Retry-After: \(retryAt)"])])
        let setup = try ExportSetup(port: receiver.port)
        let dispatcher = try await setup.start()
        let events = ExportSetup.events(10)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await dispatcher.shutdown()
        let requests = receiver.requests
        try #require(requests.count >= 2 && requests[0].status == 503)
        // Whole seconds: 3 s ahead, truncated, is 2 s or more after the date was made (just before the answer).
        #expect(requests[1].received - requests[0].answered! >= .milliseconds(1500))
    }

    @Test("A batch refused with 400 lands in the dead-letter file and delivery moves on")
    func deadLettersRefusedBatch() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        receiver.script([.status(400)])
        let setup = try ExportSetup(port: receiver.port)
        let dispatcher = try await setup.start()
        let events = ExportSetup.events(120)
        events.forEach(dispatcher.publish)
        #expect(try await eventually { setup.counter("dead_lettered") > 0 && setup.gauge("spool_events") == 0 })
        await dispatcher.shutdown()

        let refused = try #require(receiver.requests.first { $0.status == 400 })
        let deadLetterPath = setup.spoolDirectory.appendingPathComponent("dead-letter.jsonl").path
        let lines = try String(contentsOfFile: deadLetterPath, encoding: .utf8).split(separator: "\n")
        let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(records.count == refused.eventIDs.count)
        #expect(
            records.allSatisfy { $0["status"] as? Int == 400 && ($0["response"] as? String)?.contains("400") == true })
        let deadIDs = records.compactMap { ($0["event"] as? [String: Any])?["event_id"] as? String }
        #expect(deadIDs == refused.eventIDs)
        #expect(setup.counter("dead_lettered") == Int64(deadIDs.count))
        #expect(Set(receiver.deliveredIDs).union(deadIDs) == Set(events.map(\.id)))
        #expect(Set(receiver.deliveredIDs).isDisjoint(with: deadIDs))
    }

    @Test("Events spooled while the receiver was down are delivered by the next instance; a torn line is dropped")
    func restartDeliversSpool() async throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        try await receiver.goDown()
        let setup = try ExportSetup(port: receiver.port)
        let events = ExportSetup.events(150)
        let first = try await setup.start(drainTimeout: .milliseconds(500))
        events.forEach(first.publish)
        #expect(try await eventually { setup.gauge("spool_events") == 150 })
        await first.shutdown()
        #expect(setup.hostCounter(SinkMetricNames.delivered) == 150)
        #expect(!setup.logs.records(containing: "150 events still spooled").isEmpty)

        // A crash in the middle of an append leaves a torn line that was never acknowledged: it must be dropped.
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: setup.spoolDirectory.path).filter {
                $0.hasPrefix("segment-")
            }.sorted().first
        )
        let handle = try FileHandle(forWritingTo: setup.spoolDirectory.appendingPathComponent(segment))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"event_id":"torn-"#.utf8))
        try handle.close()

        receiver.setBehaviour(.status(200))
        try await receiver.comeUp()
        let second = try await setup.start()
        #expect(try await eventually { Set(receiver.deliveredIDs) == Set(events.map(\.id)) })
        await second.shutdown()
        #expect(
            receiver.requests.allSatisfy {
                $0.body.map { !String(decoding: $0, as: UTF8.self).contains("torn-") } ?? true
            })
        let segments = try FileManager.default.contentsOfDirectory(atPath: setup.spoolDirectory.path)
            .filter { $0.hasPrefix("segment-") }
        #expect(segments.count == 1, "only the last (empty) writer segment remains: \(segments)")
    }

    @Test("A request that never gets an answer times out and is retried; destroy aborts a hanging request")
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
    }
}
