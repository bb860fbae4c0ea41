import Foundation
import KaspaP2P
import TestSupport
import Testing

@testable import SensorHost

/// Eviction in `stay` mode when the sensor is full: long-lived peers and network diversity are protected; the
/// youngest peer of the most crowded prefix gives up its slot.
@Suite("Eviction when full (stay mode)")
struct EvictionTests {
    typealias Candidate = EvictionPolicy.Candidate

    static func candidate(_ id: Int, _ prefix: String, _ age: Int64) -> Candidate {
        Candidate(id: id, prefix: SourceKey.prefix(of: IPAddress(prefix)!), connectedAt: age)
    }

    @Test("The youngest peer of the most crowded prefix goes; the older half and each prefix's oldest stay")
    func crowdedPrefixLoses() {
        let candidates = [
            Self.candidate(1, "198.51.100.1", 10),  // oldest: protected
            Self.candidate(2, "203.0.113.1", 20),
            Self.candidate(3, "192.0.2.1", 30),
            Self.candidate(4, "192.0.2.2", 40),
            Self.candidate(5, "192.0.2.3", 50),
            Self.candidate(6, "203.0.113.2", 60),
            Self.candidate(7, "192.0.2.4", 70),
            Self.candidate(8, "203.0.113.3", 80),
        ]
        // Older half: 1–4. Oldest per prefix: 1, 2, 3. Left: 5, 6, 7, 8; 192.0.2.0/24 holds 4 → its youngest, 7.
        #expect(EvictionPolicy.choose(from: candidates)?.id == 7)
    }

    @Test("Nobody unprotected: nobody is evicted")
    func everyoneProtected() {
        #expect(EvictionPolicy.choose(from: []) == nil)
        #expect(EvictionPolicy.choose(from: [Self.candidate(1, "192.0.2.1", 1)]) == nil)
        // Two peers of two prefixes: each is its prefix's oldest.
        #expect(
            EvictionPolicy.choose(from: [Self.candidate(1, "192.0.2.1", 1), Self.candidate(2, "203.0.113.1", 2)])
                == nil)
    }

    @Test("Two peers of one prefix: the younger goes")
    func youngerOfTwo() {
        let chosen = EvictionPolicy.choose(from: [
            Self.candidate(1, "192.0.2.1", 1), Self.candidate(2, "192.0.2.2", 2),
        ])
        #expect(chosen?.id == 2)
    }

    @Test("The session machine: eviction ends a staying session at once, as `evicted`; only once")
    func machineInput() {
        typealias Machine = PeerSessionStateMachine<ManualClock.Instant>
        let at = { (milliseconds: Int) in ManualClock.Instant(offset: .milliseconds(milliseconds)) }
        var machine = Machine(
            local: LocalVersion(network: .mainnet, userAgent: "/test:1/"),
            configuration: PeerSessionConfiguration(afterHandshake: .stayConnected), startedAt: at(0))
        _ = machine.start(at: at(0))
        let peer = LocalVersion(network: .mainnet, userAgent: "/peer:1/")
        _ = machine.received(peer.message(), at: at(10))
        _ = machine.received(.verack, at: at(10))
        _ = machine.received(.ready, at: at(20))
        #expect(machine.evicted(at: at(30)) == [.close(.evicted)])
        #expect(machine.evicted(at: at(40)) == [])
        let report = machine.report(at: at(40))
        #expect(report.disconnectReason == .evicted && report.handshakeCompleted)
    }

    @Test("End to end: a full stay-mode sensor evicts the younger of two peers for a newcomer")
    func endToEnd() async throws {
        try await SensorHarness.withSensor([
            "probing": ["enabled": "false"],
            "network": ["listen_address": "\"127.0.0.1:0\"", "max_inbound": "2"],
            "session": ["mode": "\"stay\""],
        ]) { sensor in
            async let older = sensor.pythonClient(["--scenario", "node", "--hold-seconds", "15"])
            try await Self.waitForActive(sensor, 1)
            async let younger = sensor.pythonClient(["--scenario", "node", "--hold-seconds", "15"])
            try await Self.waitForActive(sensor, 2)
            let newcomer = try await sensor.pythonClient(["--scenario", "node"])
            #expect(newcomer.status == 0, "\(newcomer.output)")
            let evicted = try #require(
                try await sensor.waitForRows(where: "disconnect_reason LIKE 'evicted%'").first)
            #expect(evicted["handshake_outcome"] == "completed")
            let metrics = try await sensor.get("/metrics").body
            #expect(metrics.contains("sensor_peers_evicted_total 1"), "\(metrics)")
            #expect(!metrics.contains("sensor_connections_rejected_total 1"))
            _ = try await (older, younger)
        }
    }

    static func waitForActive(_ sensor: SensorHarness, _ count: Int) async throws {
        for _ in 0..<2000 {
            if try await sensor.get("/metrics").body.contains("sensor_active_connections \(count)") { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("the sensor never had \(count) active connections")
    }
}
