import Foundation
import KaspaP2P
import Testing

@Suite("Version.address that says \"no address\"")
struct NoAddressTests {
    func version(ip: [UInt8], port: UInt32) -> PeerVersion {
        PeerVersion(
            .with {
                $0.protocolVersion = 5
                $0.network = "kaspa-mainnet"
                $0.id = Data(LocalVersion.makeID())
                $0.userAgent = "/kaspad:0.12.20/kaspad:0.12.20/"
                $0.address = .with {
                    $0.ip = Data(ip)
                    $0.port = port
                }
            })
    }

    @Test(
        "Unspecified IPs and port 0 are accepted as no address: no error, no Reject, flagged",
        arguments: [
            // The Go kaspad v0.12 sends exactly this when it knows no external address.
            ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0], 0),
            ([0, 0, 0, 0], 0),
            (Array(repeating: 0, count: 16), 0),
            ([0, 0, 0, 0], 16111),
            ([198, 51, 100, 7], 0),
        ] as [([UInt8], UInt32)])
    func noAddress(ip: [UInt8], port: UInt32) {
        let peer = version(ip: ip, port: port)
        #expect(peer.address == nil)
        #expect(peer.addressUnspecified)
        #expect(peer.addressError == nil)
        #expect(peer.validationError(expectedNetwork: .mainnet, localID: LocalVersion.makeID()) == nil)
    }

    @Test("A real address is kept; a malformed one is still an error")
    func realAndMalformed() {
        let real = version(ip: [198, 51, 100, 7], port: 16111)
        #expect(real.address == PeerAddress("198.51.100.7:16111"))
        #expect(!real.addressUnspecified)
        let malformed = version(ip: [1, 2, 3], port: 16111)
        #expect(malformed.address == nil)
        #expect(!malformed.addressUnspecified)
        #expect(malformed.addressError == "IP has illegal length 3")
    }

    @Test("FirstBytes: another protocol's first line quoted and escaped, binary as hex, the total when more came")
    func firstBytes() {
        #expect(
            FirstBytes(Array("HTTP/1.1 400 Bad Request\r\nServer: x\r\n".utf8)).description
                == "\"HTTP/1.1 400 Bad Request\" (37 bytes)")
        #expect(FirstBytes(Array("SSH-2.0-OpenSSH_9.2p1".utf8)).description == "\"SSH-2.0-OpenSSH_9.2p1\"")
        #expect(FirstBytes([0x16, 0x03, 0x01, 0x02, 0x00]).description == "hex 1603010200")
        #expect(FirstBytes(Array("say \"hi\"\\".utf8)).description == "\"say \\\"hi\\\"\\\\\"")
        var many = FirstBytes()
        many.append(Array(repeating: UInt8(0x41), count: 100))
        #expect(many.bytes.count == FirstBytes.limit)
        #expect(many.total == 100)
        #expect(FirstBytes().isEmpty)
    }
}
