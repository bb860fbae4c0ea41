import Foundation
import Testing

/// Floods of control frames and messages from one connection, from the independent `edge_client.py` (h2) and
/// `kaspa_peer.py` (grpcio): the sensor ends or absorbs them and keeps serving honest peers and `/metrics`.
@Suite("Floods")
struct FloodTests {
    static let settings: [String: [String: String]] = ["probing": ["enabled": "false"]]

    static func stillServing(_ sensor: SensorHarness) async throws {
        let honest = try await sensor.pythonClient(["--scenario", "node"])
        #expect(honest.status == 0, "\(honest.output)")
        #expect(try await sensor.get("/metrics").status == 200)
    }

    @Test("A rapid-reset flood (HEADERS then RST_STREAM, 1,000 times) is ended with GOAWAY; others are served")
    func rapidReset() async throws {
        try await SensorHarness.withSensor(Self.settings) { sensor in
            let flood = try await sensor.edgeClient(
                "flood", ["--kind", "rapid-reset", "--count", "1000", "--observe", "20"])
            #expect(flood["closed"] as? NSNumber == true, "\(flood)")
            try await Self.stillServing(sensor)
        }
    }

    @Test(
        "SETTINGS and PING floods that never read their ACKs end or are absorbed; others are served",
        arguments: ["settings", "ping"])
    func controlFrameFlood(kind: String) async throws {
        try await SensorHarness.withSensor(Self.settings) { sensor in
            let flood = try await sensor.edgeClient(
                "flood", ["--kind", kind, "--count", "20000", "--observe", "20"])
            #expect((flood["sent"] as? NSNumber)?.intValue ?? 0 > 0, "\(flood)")
            try await Self.stillServing(sensor)
        }
    }

    @Test("A flood of 2,000 Kaspa Pings is answered Pong for Ping while another peer handshakes")
    func kaspaPingFlood() async throws {
        // Stay mode: in close mode the session's linger may end it in the middle of a slow flood.
        try await SensorHarness.withSensor(Self.settings.merging(["session": ["mode": "\"stay\""]]) { $1 }) {
            sensor in
            async let flood = sensor.pythonClient(["--scenario", "flood-pings", "--count", "2000", "--timeout", "30"])
            try await Self.stillServing(sensor)
            let run = try await flood
            #expect(run.status == 0, "\(run.output.suffix(2000))")
            #expect((run.event("pongs_received")?["count"] as? NSNumber)?.intValue == 2000)
        }
    }

    @Test("A Version whose user agent is not UTF-8 ends the stream and is recorded; the sensor goes on")
    func invalidUTF8() async throws {
        try await SensorHarness.withSensor(Self.settings) { sensor in
            let run = try await sensor.pythonClient(["--scenario", "invalid-utf8", "--timeout", "10"])
            #expect(run.status == 0, "\(run.output)")
            let row = try #require(try await sensor.waitForRows().first)
            #expect(row["handshake_outcome"] == "transport_error", "\(row)")
            try await Self.stillServing(sensor)
        }
    }
}

/// A stream whose first message cannot be read never reaches a session in grpc-swift; it is still recorded, as a
/// session's `transport_error` or, when no session started, a `stream_ended_before_session` attempt.
@Suite("Unreadable first messages")
struct UnreadableMessageTests {
    @Test(
        "A 4 GiB length prefix, a 40 MiB message (declared), a compressed flag without grpc-encoding: stream ended, recorded",
        arguments: [
            ["--declared-length", "4294967295"],
            ["--declared-length", "41943040", "--body-bytes", "65536"],
            ["--declared-length", "16", "--compressed"],
        ])
    func recorded(arguments: [String]) async throws {
        try await SensorHarness.withSensor(FloodTests.settings) { sensor in
            let result = try await sensor.edgeClient("message", arguments + ["--observe", "20"])
            #expect(result["reset"] is NSNumber || result["status"] is NSNumber, "\(result)")
            let row = try #require(
                try await sensor.waitForRows(
                    where: "handshake_outcome IN ('transport_error', 'stream_ended_before_session')"
                ).first)
            #expect(row["remote_ip"] == "127.0.0.1", "\(row)")
            try await FloodTests.stillServing(sensor)
        }
    }
}
