import KaspaP2P
import TestSupport

/// A Kaspa peer made with the sensor's own dialer, for tests that only need an event with a known user agent.
enum HandshakingPeer {
    /// Completes a handshake with `target` as a peer with `userAgent`, then closes; throws if it did not complete.
    static func connect(_ userAgent: String, to target: PeerAddress) async throws {
        let outcome = await KaspaDialer(maxMessageBytes: 32 << 20).dial(
            target,
            connectTimeout: .seconds(5),
            deadline: .seconds(30),
            local: LocalVersion(network: .mainnet, userAgent: userAgent),
            configuration: PeerSessionConfiguration(
                afterHandshake: .closeAfterExchange(addressWait: .milliseconds(100), linger: .zero))
        )
        guard case .connected(let report?, _) = outcome, report.handshakeCompleted else {
            throw TestFailure("\(userAgent) did not complete the handshake: \(outcome)")
        }
    }
}
