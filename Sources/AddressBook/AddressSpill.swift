import Foundation
import KaspaP2P

/// The gossip the address writer could not store before shutdown, kept in a file beside the address database
/// (`<addressdb_path>.pending`) and stored first at the next start, so that a backlog is never lost to SIGTERM's
/// deadline. One sighting per line: `<seen µs> <advertiser> <peer id or -> <address>,<address>,…`.
enum AddressSpill {
    /// The spill file of the database at `databasePath`.
    static func path(for databasePath: String) -> String { databasePath + ".pending" }

    /// Replaces the file at `path` with `sightings` (written to a temporary file, synced, then renamed, so a
    /// crash leaves the old file or the new one).
    static func write(_ sightings: [AddressSighting], to path: String) throws {
        var text = ""
        for sighting in sightings {
            text += "\(sighting.seenAtMicros) \(sighting.advertiser) \(sighting.advertiserPeerID ?? "-") "
            text += sighting.addresses.map(\.description).joined(separator: ",") + "\n"
        }
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.write(contentsOf: Data(text.utf8))
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// The sightings in the file at `path` (none when it does not exist); lines that do not parse are skipped
    /// and counted.
    static func read(_ path: String) -> (sightings: [AddressSighting], unreadable: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { return ([], 0) }
        var sightings: [AddressSighting] = []
        var unreadable = 0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 4, let seen = Int64(parts[0]), let advertiser = PeerAddress(String(parts[1])) else {
                unreadable += 1
                continue
            }
            let addresses = parts[3].split(separator: ",").compactMap { PeerAddress(String($0)) }
            sightings.append(
                AddressSighting(
                    addresses: addresses, advertiser: advertiser,
                    advertiserPeerID: parts[2] == "-" ? nil : String(parts[2]), seenAtMicros: seen))
        }
        return (sightings, unreadable)
    }
}
