import AddressBook
import Foundation
import KaspaP2P

/// One inbound session's address harvest: the rounds so far (to stop once one brings nothing new) and the
/// hand-off of every answer to the address database writer, which never blocks the session.
struct AddressHarvesting: Sendable {
    let recorder: AddressRecorder
    let advertiser: PeerAddress
    let rounds = AddressHarvest()

    init(_ recorder: AddressRecorder, from advertiser: PeerAddress) {
        self.recorder = recorder
        self.advertiser = advertiser
    }

    func received(_ addresses: [PeerAddress], from peer: PeerVersion?) {
        rounds.record(addresses)
        recorder.submit(
            AddressSighting(
                addresses: addresses, advertiser: advertiser, advertiserPeerID: peer?.idHex,
                seenAtMicros: Int64(Date().timeIntervalSince1970 * 1_000_000)))
    }
}
