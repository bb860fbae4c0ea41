import Foundation
import KaspaP2P
import TestSupport
import Testing

/// The sensor's side of phase 3: what inbound peers gossip lands in the address database, and self-announcement
/// puts `[sensor] external_address` into other nodes' address books.
@Suite("Address harvesting and self-announcement of the running sensor", .serialized)
struct GossipPresenceTests {
    /// The address database of a harness sensor (`[database] addressdb_path`, default, beside sensor.toml).
    static func addressRows(_ sensor: SensorHarness) -> [[String: String]] {
        let path = (sensor.directory as NSString).appendingPathComponent("sensor-addresses.db")
        return
            (try? EventRows.query(
                path,
                """
                SELECT ip, port, advertiser, advertiser_peer_id, first_seen_us, last_seen_us, times_seen
                FROM gossiped_addresses ORDER BY ip, port
                """)) ?? []
    }

    @Test("An inbound peer's Addresses answer is stored valid and canonical, per advertiser, counted on reconnection")
    func harvest() async throws {
        let settings = [
            "probing": ["enabled": "false"],
            "session": ["address_request_rounds": "1"],
        ]
        try await SensorHarness.withSensor(settings) { sensor in
            let peerID = "0123456789abcdef0123456789abcdef"
            let client = [
                "--scenario", "node", "--id-hex", peerID, "--advertise", "127.0.0.1:17123", "--hold-seconds", "0.3",
                "--addresses", "1.2.3.4:16111,[::ffff:5.6.7.8]:16112,9.9.9.9:0,[2001:db8::1]:16111,0.0.0.0:16111",
            ]
            let first = try await sensor.pythonClient(client)
            #expect(first.status == 0, "\(first.output)")
            #expect(try await eventually(timeout: .seconds(10)) { Self.addressRows(sensor).count == 3 })
            let rows = Self.addressRows(sensor)
            #expect(
                rows.map { "\($0["ip"]!):\($0["port"]!)" } == ["1.2.3.4:16111", "2001:db8::1:16111", "5.6.7.8:16112"])
            // The advertiser is the peer's listening address (its IP, Version.address's port), not the ephemeral
            // port of the connection, so a reconnection counts towards the same rows.
            #expect(rows.allSatisfy { $0["advertiser"] == "127.0.0.1:17123" && $0["advertiser_peer_id"] == peerID })
            #expect(rows.allSatisfy { $0["times_seen"] == "1" && $0["first_seen_us"] == $0["last_seen_us"] })

            let second = try await sensor.pythonClient(client)
            #expect(second.status == 0, "\(second.output)")
            #expect(
                try await eventually(timeout: .seconds(10)) {
                    Self.addressRows(sensor).allSatisfy { $0["times_seen"] == "2" }
                })
            let again = Self.addressRows(sensor)
            #expect(again.count == 3)
            for (before, after) in zip(rows, again) {
                #expect(after["first_seen_us"] == before["first_seen_us"])
                #expect(Int64(after["last_seen_us"]!)! > Int64(before["last_seen_us"]!)!)
            }

            // report network over the events database this run produced, through the real executable.
            _ = try await sensor.waitForRows(2)
            let report = try await CommandProcess.runKaspaSensor([
                "report", "network", "--format", "json", sensor.databasePath,
            ])
            #expect(report.status == 0, "\(report.errors)")
            #expect(report.output.contains("\"sensor_id\" : \"test-sensor\""), "\(report.output)")
            #expect(report.output.contains("\"unique_peers\" : 1"), "\(report.output)")
            let text = try await CommandProcess.runKaspaSensor(["report", "network", sensor.databasePath])
            #expect(text.status == 0)
            #expect(text.output.contains("sensor test-sensor: 1 unique peers"), "\(text.output)")
        }
    }

    @Test("[announce] dials the configured peers with external_address in Version; they add it to their books")
    func announcement() async throws {
        let peers = (1...3).map { PeerAddress("127.88.0.\($0):16111")! }
        let network = try await SimulatedNetwork(
            nodes: peers.enumerated().map { index, address in
                SimulatedNetwork.Node(
                    listen: [address], id: String(format: "%032x", 0x8800 + index),
                    book: ["127.88.1.\(index + 1):16111"])
            })
        let external = "127.50.0.77:16111"
        let settings = [
            "sensor": ["external_address": "\"\(external)\""],
            "announce": [
                "enabled": "true", "max_peers": "3", "timeout_ms": "5000",
                "peers": "[" + peers.map { "\"\($0)\"" }.joined(separator: ", ") + "]",
            ],
            "session": ["address_request_spacing_ms": "20"],
        ]
        try await SensorHarness.withSensor(settings) { sensor in
            let announced = try await eventually(timeout: .seconds(15)) {
                Set(network.addedToBooks.filter { $0.address == external }.map(\.node))
                    == Set(peers.map(\.description))
            }
            #expect(announced, "\(network.addedToBooks)")
            // What the dialed nodes gossiped back goes to the address database, advertised by each node: its book,
            // which by then holds the sensor's own address too.
            let expected = Set(
                peers.enumerated().flatMap { index, peer in
                    ["\(peer) -> 127.88.1.\(index + 1)", "\(peer) -> 127.50.0.77"]
                })
            let stored = try await eventually(timeout: .seconds(10)) {
                Set(Self.addressRows(sensor).map { "\($0["advertiser"]!) -> \($0["ip"]!)" }) == expected
            }
            #expect(stored, "\(Self.addressRows(sensor))")
        }
    }
}
