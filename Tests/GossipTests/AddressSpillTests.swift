import AddressBook
import Foundation
import KaspaP2P
import Logging
import TestSupport
import Testing

/// The address writer at shutdown: what it cannot store before the deadline is kept beside the database and
/// stored at the next start; nothing is lost and nothing is stored twice.
@Suite("Address writer backlog at shutdown")
struct AddressSpillTests {
    static func sightings(_ count: Int, entries: Int) -> [AddressSighting] {
        (0..<count).map { index in
            let third = UInt8(index % 250)
            let addresses = (0..<entries).map { (entry: Int) -> PeerAddress in
                PeerAddress(ip: .v4(198, 51, third, UInt8(entry % 250 + 1)), port: UInt16(1024 + entry / 250))
            }
            return AddressSighting(
                addresses: addresses,
                advertiser: PeerAddress("203.0.113.\(index % 250 + 1):16111")!,
                advertiserPeerID: index.isMultiple(of: 2) ? nil : String(repeating: "ab", count: 16),
                seenAtMicros: 1_700_000_000_000_000 + Int64(index))
        }
    }

    static func databasePath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("addresses.db").path
    }

    @Test("A backlog past the close deadline is spilled, then stored at the next start; the spill file goes")
    func backlogSurvivesShutdown() async throws {
        let path = try Self.databasePath()
        let logs = LogCapture()
        let submitted = Self.sightings(400, entries: 500)  // 200,000 rows: far more than the deadline allows
        let recorder = try AddressRecorder(path: path, capacity: 1000, logger: logs.logger)
        for sighting in submitted { #expect(recorder.submit(sighting)) }
        await recorder.close(within: .zero)
        let spilled = recorder.spilledCount
        #expect(spilled > 0, "the writer stored the whole backlog within 1 ms; the test needs a bigger one")
        #expect(FileManager.default.fileExists(atPath: path + ".pending"))

        let restarted = try AddressRecorder(path: path, capacity: 1000, logger: logs.logger)
        await restarted.flush()
        await restarted.close()
        #expect(!FileManager.default.fileExists(atPath: path + ".pending"))
        let distinct = Set(submitted.flatMap { sighting in sighting.addresses.map { "\($0) \(sighting.advertiser)" } })
        #expect(try AddressStore(path: path).count() == distinct.count)
    }

    @Test("The spill file keeps every field of a sighting")
    func roundTrip() async throws {
        let path = try Self.databasePath()
        var sightings = Self.sightings(3, entries: 2)
        sightings[1].addresses.append(PeerAddress("[2001:db8::1]:16111")!)
        let logs = LogCapture()
        let recorder = try AddressRecorder(path: path, logger: logs.logger)
        for sighting in sightings { recorder.submit(sighting) }
        await recorder.close(within: .zero)
        let restarted = try AddressRecorder(path: path, logger: logs.logger)
        await restarted.flush()
        await restarted.close()
        #expect(try AddressStore(path: path).count() == 7)
    }
}
