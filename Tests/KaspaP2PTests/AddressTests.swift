import Foundation
import KaspaP2P
import Testing

@Suite("Addresses")
struct AddressTests {
    @Test(
        "Parsing and canonical text",
        arguments: [
            ("1.2.3.4:16111", "1.2.3.4:16111"),
            ("[::ffff:1.2.3.4]:16111", "1.2.3.4:16111"),
            ("[2001:db8::1]:5", "[2001:db8::1]:5"),
            ("[::]:16111", "[::]:16111"),
        ]
    )
    func parsing(text: String, canonical: String) {
        #expect(PeerAddress(text)?.description == canonical)
    }

    @Test("Invalid text is refused", arguments: ["", "1.2.3.4", "1.2.3.4:70000", "host:16111", "[::1]", "1.2.3:5"])
    func invalid(text: String) {
        #expect(PeerAddress(text) == nil)
    }

    @Test("A bare IP takes the default port")
    func defaultPort() {
        #expect(PeerAddress("1.2.3.4", defaultPort: 16111)?.description == "1.2.3.4:16111")
        #expect(PeerAddress("[2001:db8::1]", defaultPort: 16211)?.description == "[2001:db8::1]:16211")
    }

    @Test(
        "Routability follows the reference node",
        arguments: [
            ("8.8.8.8", true), ("127.0.0.1", false), ("10.1.2.3", false), ("172.16.0.1", false),
            ("172.32.0.1", true), ("192.168.1.1", false), ("100.64.0.1", false), ("169.254.1.1", false),
            ("198.18.0.1", false), ("192.0.2.1", false), ("0.0.0.0", false), ("224.0.0.1", false),
            ("::1", false), ("::", false), ("fc00::1", false), ("fe80::1", false), ("2001:db8::1", false),
            ("2002::1", false), ("2001::1", false), ("2606:4700::1111", true), ("::ffff:10.0.0.1", false),
            ("::ffff:8.8.8.8", true), ("64:ff9b::1.2.3.4", false),
        ]
    )
    func routability(text: String, routable: Bool) {
        #expect(IPAddress(text)?.isPubliclyRoutable == routable)
    }

    @Test("NetAddress round trip: 4 bytes for IPv4, 16 for IPv6, mapped IPv4 canonicalised")
    func netAddress() throws {
        let v4 = Protowire_NetAddress(PeerAddress("1.2.3.4:16111")!)
        #expect(v4.ip.count == 4)
        #expect(try v4.peerAddress().get().description == "1.2.3.4:16111")
        let v6 = Protowire_NetAddress(PeerAddress("[2001:db8::7]:1")!)
        #expect(v6.ip.count == 16)

        var mapped = Protowire_NetAddress()
        mapped.ip = Data([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 9, 8, 7, 6])
        mapped.port = 16111
        #expect(try mapped.peerAddress().get().description == "9.8.7.6:16111")

        var bad = Protowire_NetAddress()
        bad.ip = Data([1, 2, 3])
        #expect(throws: NetAddressError.self) { try bad.peerAddress().get() }
        var badPort = v4
        badPort.port = 70_000
        #expect(throws: NetAddressError.self) { try badPort.peerAddress().get() }
    }

    @Test("User agent: BIP-14 style, comment sanitised, 256 bytes at most")
    func userAgent() {
        #expect(LocalVersion.userAgent(name: "kaspa-sensor", version: "0.1.0") == "/kaspa-sensor:0.1.0/")
        #expect(
            LocalVersion.userAgent(name: "kaspa-sensor", version: "0.1.0", comment: "eu/1:(x)")
                == "/kaspa-sensor:0.1.0(eu1x)/")
        let long = LocalVersion.userAgent(
            name: "kaspa-sensor", version: "0.1.0", comment: String(repeating: "a", count: 400))
        #expect(long.utf8.count == 256)
    }

    @Test("Networks: names, wire names, default ports")
    func networks() {
        #expect(KaspaNetwork(named: "mainnet")?.defaultPort == 16111)
        #expect(KaspaNetwork(named: "testnet-10")?.wireName == "kaspa-testnet-10")
        #expect(KaspaNetwork(named: "testnet")?.defaultPort == 16211)
        #expect(KaspaNetwork(named: "kaspa-devnet")?.defaultPort == 16611)
        #expect(KaspaNetwork(named: "simnet")?.defaultPort == 16511)
        #expect(KaspaNetwork(named: "moonnet") == nil)
    }
}
