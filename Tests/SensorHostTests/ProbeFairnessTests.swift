import Foundation
import KaspaP2P
import TestSupport
import Testing

@testable import SensorHost

/// Probes are shared fairly across sources, a target is dialed a bounded number of times per window whatever
/// ports its peers name, and the probe cache never empties itself wholesale.
@Suite("Probe fairness and bounds")
struct ProbeFairnessTests {
    static func source(_ text: String) -> SourceKey { SourceKey.source(of: IPAddress(text)!) }
    static let a = source("198.51.100.1")
    static let b = source("198.51.100.2")
    static let c = source("203.0.113.3")

    @Test("One source runs at most an eighth of the slots; other sources run beside it")
    func perSourceRunning() {
        var queue = ProbeQueue(maxRunning: 16, maxWaiting: 64)
        #expect(queue.request(1, from: Self.a) == .run)
        #expect(queue.request(2, from: Self.a) == .run)
        #expect(queue.request(3, from: Self.a) == .wait)
        #expect(queue.request(4, from: Self.b) == .run)
        #expect(queue.running == 3 && queue.waiting == 1)
        #expect(queue.release(Self.a) == [3])
    }

    @Test("A freed slot goes to the sources in turn, not to the one with the longest queue")
    func roundRobin() {
        var queue = ProbeQueue(maxRunning: 8, maxWaiting: 256)  // one slot per source
        var id = 0
        func next(_ source: SourceKey) -> ProbeQueue.Decision {
            id += 1
            return queue.request(id, from: source)
        }
        for index in 0..<8 {
            #expect(next(Self.source("192.0.2.\(index + 1)")) == .run)
        }
        for _ in 0..<5 { #expect(next(Self.a) == .wait) }  // ids 9...13
        #expect(next(Self.b) == .wait)  // id 14
        #expect(next(Self.c) == .wait)  // id 15
        #expect(queue.release(Self.source("192.0.2.1")) == [9])
        #expect(queue.release(Self.source("192.0.2.2")) == [14])  // a already runs its share
        #expect(queue.release(Self.source("192.0.2.3")) == [15])
        #expect(queue.release(Self.a) == [10])
        #expect(queue.waiting == 3)
    }

    @Test("One source queues at most a sixteenth of the queue; others still queue")
    func perSourceWaiting() {
        var queue = ProbeQueue(maxRunning: 1, maxWaiting: 32)  // two waiters per source
        #expect(queue.request(1, from: Self.c) == .run)
        #expect(queue.request(2, from: Self.a) == .wait)
        #expect(queue.request(3, from: Self.a) == .wait)
        #expect(queue.request(4, from: Self.a) == .refuse)
        #expect(queue.request(5, from: Self.b) == .wait)
        let cancelled = queue.cancel(2, from: Self.a)
        let cancelledAgain = queue.cancel(2, from: Self.a)
        #expect(cancelled && !cancelledAgain)
        #expect(queue.request(6, from: Self.a) == .wait)
        #expect(queue.waiting == 3)
    }

    @Test("Requests without a source share only the global bounds")
    func exemptSource() {
        var queue = ProbeQueue(maxRunning: 8, maxWaiting: 16)
        let decisions = (1...25).map { queue.request($0, from: ProbeQueue.exempt) }
        #expect(decisions.prefix(8).allSatisfy { $0 == .run })
        #expect(decisions[8..<24].allSatisfy { $0 == .wait })
        #expect(decisions.last == .refuse)
    }

    @Test("A source is dialed at most max_dials_per_target times per window")
    func dialRate() {
        var limit = DialRateLimit<ManualClock.Instant>(maxDials: 2, window: .seconds(10))
        func allow(_ key: SourceKey, at seconds: Int) -> Bool {
            limit.allow(key, at: ManualClock.Instant(offset: .seconds(seconds)))
        }
        let decisions = [
            allow(Self.a, at: 0), allow(Self.a, at: 1), allow(Self.a, at: 2), allow(Self.b, at: 2),
            allow(Self.a, at: 10),  // the first dial left the window
            allow(Self.a, at: 10),
        ]
        #expect(decisions == [true, true, false, true, true, false])
    }

    @Test("A full probe cache of fresh results drops the eighth closest to expiring, never everything")
    func cacheNeverEmptiesWholesale() {
        let cache = ProbeCache(ttl: .seconds(600), capacity: 16)
        let targets = (1...17).map { PeerAddress("198.51.100.\($0):16111")! }
        for target in targets {
            guard case .miss(let pending) = cache.lookup(target) else {
                Issue.record("\(target) should be a miss")
                return
            }
            var result = ProbeResult.notDialed("connection_refused", "", target: target)
            result.attempts = 1
            cache.store(result, for: target, completing: pending)
        }
        let hits = targets.filter { if case .hit = cache.lookup($0) { true } else { false } }
        #expect(hits.count == 15, "\(hits)")
        #expect(hits.first == targets[2] && hits.last == targets[16])
    }
}

/// The dial rate limit end to end: peers that name a new port each time are not dialed without end.
@Suite("Probe dial rate, end to end")
struct ProbeDialRateTests {
    @Test("Three peers from one address naming three ports: two are dialed, the third is rate limited")
    func portsDoNotMultiplyDials() async throws {
        try await SensorHarness.withSensor([
            "limits": ["exempt_loopback": "false"],
            "probing": ["max_dials_per_target": "2", "connect_timeout_ms": "1000"],
        ]) { sensor in
            for port in [1, 2, 3] {
                let run = try await sensor.pythonClient(["--scenario", "node", "--advertise", "127.0.0.1:\(port)"])
                #expect(run.status == 0, "\(run.output)")
                _ = try await sensor.waitForRows(port)
            }
            let outcomes = try await sensor.waitForRows(3).map { $0["probe_outcome"] ?? "" }
            #expect(outcomes.filter { $0 == "target_rate_limited" }.count == 1, "\(outcomes)")
        }
    }
}
