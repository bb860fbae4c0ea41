import AddressBook
import Foundation
import KaspaP2P

/// One inbound session's address harvest: the rounds so far (to stop once one brings nothing new) and the
/// hand-off of every answer to the address database writer, which never blocks the session.
///
/// The advertiser is recorded as the peer's listening address, the one the probe dials: the connection's IP with
/// the port of `Version.address` (or the network's default port). The connection's own port is ephemeral, so
/// keying on it would make every reconnection of the same node a new advertiser and its counts meaningless.
struct AddressHarvesting: Sendable {
    let recorder: AddressRecorder
    let remoteIP: IPAddress
    let defaultPort: UInt16
    let rounds = AddressHarvest()

    init(_ recorder: AddressRecorder, from remote: PeerAddress, defaultPort: UInt16) {
        self.recorder = recorder
        self.remoteIP = remote.ip
        self.defaultPort = defaultPort
    }

    func received(_ addresses: [PeerAddress], from peer: PeerVersion?) {
        rounds.record(addresses)
        recorder.submit(
            AddressSighting(
                addresses: addresses, advertiser: PeerAddress(ip: remoteIP, port: peer?.address?.port ?? defaultPort),
                advertiserPeerID: peer?.idHex, seenAtMicros: Int64(Date().timeIntervalSince1970 * 1_000_000)))
    }
}
