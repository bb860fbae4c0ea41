import AddressBook
import Foundation
import KaspaP2P
import Logging
import NetworkCrawler
import ServiceLifecycle

/// Runs ``Announcer`` rounds every `[announce] interval_secs` until graceful shutdown; the addresses the dialed
/// nodes gossip go to the address database like an inbound peer's.
struct AnnouncementService: Service {
    let announcer: Announcer
    let interval: Duration
    let recorder: AddressRecorder?
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let visits = await announcer.announceOnce()
                for visit in visits {
                    for response in visit.responses {
                        recorder?.submit(
                            AddressSighting(
                                addresses: response.addresses, advertiser: visit.address,
                                advertiserPeerID: visit.peerVersion?.idHex, seenAtMicros: response.receivedAtMicros))
                    }
                }
                let announced = visits.filter { $0.reachable && $0.failure == nil }.count
                logger.info(
                    "announced our address",
                    metadata: [
                        "address": "\(announcer.settings.externalAddress)", "nodes": "\(announced)",
                        "dialed": "\(visits.count)",
                    ])
                // Cancelled at graceful shutdown: end the loop, not the service group with an error.
                try? await Task.sleep(for: interval)
            }
        }
    }
}

/// Closes the address database writer after the producers (listed before them, it stops after them).
struct AddressRecorderService: Service {
    let recorder: AddressRecorder
    /// How long the writer may take at shutdown; what it has not stored by then is kept for the next start.
    var grace: Duration = .seconds(5)

    func run() async throws {
        try? await gracefulShutdown()
        await recorder.close(within: grace)
    }
}
