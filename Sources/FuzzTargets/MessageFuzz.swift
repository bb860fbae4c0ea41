import KaspaP2P

/// Message decoding: whatever a peer's stream delivers as one gRPC message goes through the same decoding as in a
/// session (the envelope, then `PeerVersion` and `NetAddress` conversion), and the field caps of issue 12 hold for
/// every input.
enum MessageFuzz {
    /// The sensor's own id in the loopback check.
    static let localID = [UInt8](repeating: 0xA5, count: 16)

    static func run(_ input: [UInt8]) throws(FuzzFailure) {
        guard let message = try? KaspaMessage(serializedBytes: input) else { return }
        _ = message.payloadName
        switch message.payload {
        case .version(let wire):
            try checkVersion(PeerVersion(wire))
        case .addresses(let list):
            for entry in list.addressList {
                try checkAddress(entry)
            }
        case .reject(let reject):
            // The Reject the sensor would send back with the same text is capped too.
            guard case .reject(let answer) = KaspaMessage.reject(reason: reject.reason).payload else {
                throw FuzzFailure("reject(reason:) built no Reject")
            }
            try check(answer.reason.utf8.count <= 2048, "Reject reason of \(answer.reason.utf8.count) bytes")
        default:
            break
        }
        // What the sensor re-encodes (its answers, the tests' peers) decodes to the same message.
        let encoded: [UInt8]
        do {
            encoded = try message.serializedBytes()
        } catch {
            throw FuzzFailure("a decoded message does not encode: \(error)")
        }
        let again = try? KaspaMessage(serializedBytes: encoded)
        try check(again == message, "a decoded message changed after encoding and decoding again")
    }

    /// The decoded Version respects every documented cap, whatever the peer sent.
    static func checkVersion(_ version: PeerVersion) throws(FuzzFailure) {
        try check(
            version.network.utf8.count <= PeerVersion.maxNetworkBytes,
            "network of \(version.network.utf8.count) bytes kept")
        try check(version.id.count <= PeerVersion.idBytes, "id of \(version.id.count) bytes kept")
        try check(
            version.userAgent.utf8.count <= LocalVersion.maxUserAgentBytes,
            "user agent of \(version.userAgent.utf8.count) bytes kept")
        try check(
            (version.subnetworkID?.count ?? 0) <= PeerVersion.subnetworkIDBytes,
            "subnetwork id of \(version.subnetworkID?.count ?? 0) bytes kept")
        try check(version.idHex.utf8.count == 2 * version.id.count, "id hex of the wrong length")
        _ = version.validationError(expectedNetwork: .mainnet, localID: localID)
    }

    /// A converted address keeps the entry's port and IP (an IPv4-mapped IPv6 one as IPv4), and its text form
    /// (logs, rows, exports) parses back to it; a refused one has a reason.
    static func checkAddress(_ entry: Protowire_NetAddress) throws(FuzzFailure) {
        switch entry.peerAddress() {
        case .success(let address):
            try check(
                address.ip.bytes == Array(entry.ip) || (entry.ip.count == 16 && address.ip.bytes.count == 4),
                "IP of \(entry.ip.count) bytes changed")
            try check(UInt32(address.port) == entry.port, "port \(entry.port) changed")
            try check(PeerAddress(address.description) == address, "\(address) does not parse back")
        case .failure(let error):
            try check(!error.message.isEmpty, "an address refused without a reason")
        }
    }
}
