import Foundation
import KaspaP2P
import TestSupport
import Testing

/// Every string and list a peer sends has its cap applied once, when it is decoded: nothing a peer sends can make
/// the sensor carry megabytes into its Reject, logs, rows or exports.
@Suite("Field bounds")
struct FieldBoundsTests {
    typealias Machine = PeerSessionStateMachine<ManualClock.Instant>

    static func version(network: String = "kaspa-mainnet", id: [UInt8] = LocalVersion.makeID())
        -> Protowire_VersionMessage
    {
        .with {
            $0.protocolVersion = 7
            $0.network = network
            $0.id = Data(id)
            $0.userAgent = "/kaspad:1.0.0/"
        }
    }

    @Test("A 1 MiB network name is kept as 16 bytes with its length, and refused with a short Reject")
    func longNetworkName() throws {
        let sent = "kaspa-mainnet\n" + String(repeating: "x", count: 1 << 20)
        let decoded = PeerVersion(Self.version(network: sent))
        #expect(decoded.network.utf8.count == PeerVersion.maxNetworkBytes)
        #expect(PeerVersion.maxNetworkBytes == 16)
        #expect(decoded.networkByteCount == sent.utf8.count)
        let failure = try #require(decoded.validationError(expectedNetwork: .mainnet, localID: LocalVersion.makeID()))
        #expect(failure.code == .wrongNetwork)
        #expect(failure.message.utf8.count < 200, "\(failure.message)")
        #expect(failure.message.contains("\(sent.utf8.count) bytes"))
    }

    @Test("A network name that starts with the sensor's own but is longer than any is refused, not cut to a match")
    func longNameWithTheRightPrefix() throws {
        let decoded = PeerVersion(Self.version(network: "kaspa-testnet-10-and-more"))
        #expect(decoded.network == "kaspa-testnet-10")
        let failure = try #require(
            decoded.validationError(expectedNetwork: .testnet10, localID: LocalVersion.makeID()))
        #expect(failure.code == .wrongNetwork)
    }

    @Test("Cutting never splits a character")
    func cutAtCharacterBoundary() {
        let decoded = PeerVersion(Self.version(network: String(repeating: "é", count: 20)))
        #expect(decoded.network == String(repeating: "é", count: 8))
    }

    @Test("A 1 MiB id keeps its first 16 bytes and its length; the Version is malformed")
    func longID() throws {
        let id = [UInt8](repeating: 0xab, count: 1 << 20)
        let decoded = PeerVersion(Self.version(id: id))
        #expect(decoded.id.count == 16)
        #expect(decoded.idByteCount == id.count)
        #expect(decoded.idHex.count == 32)
        let failure = try #require(decoded.validationError(expectedNetwork: .mainnet, localID: LocalVersion.makeID()))
        #expect(failure.code == .malformedVersion)
        #expect(failure.message == "invalid peer id length \(id.count), expected 16")
    }

    // MARK: - Addresses

    static func at(_ milliseconds: Int) -> ManualClock.Instant {
        ManualClock.Instant(offset: .milliseconds(milliseconds))
    }

    static func addresses(_ count: Int) -> KaspaMessage {
        .addresses((0..<count).map { PeerAddress(ip: .v4(198, 51, UInt8($0 / 250), UInt8($0 % 250 + 1)), port: 16111) })
    }

    /// A session whose handshake completed at 1 s and whose one RequestAddresses went out then.
    func established() -> Machine {
        let configuration = PeerSessionConfiguration(
            versionTimeout: .seconds(5), verackTimeout: .seconds(7), readyTimeout: .seconds(3),
            afterHandshake: .closeAfterExchange(addressWait: .seconds(4), linger: .seconds(2)),
            addressRequestRounds: 1, addressRequestSpacing: .milliseconds(250), idleTimeout: .seconds(60))
        var machine = Machine(
            local: LocalVersion(network: .mainnet, userAgent: "/test:1/"), configuration: configuration,
            startedAt: Self.at(0))
        _ = machine.start(at: Self.at(0))
        _ = machine.received(.with { $0.version = Self.version() }, at: Self.at(500))
        _ = machine.received(.verack, at: Self.at(500))
        let actions = machine.received(.ready, at: Self.at(1000))
        #expect(actions.contains(.send(.requestAddresses)))
        return machine
    }

    @Test("An Addresses message of 2,500 entries is taken")
    func addressesAtTheCap() {
        var machine = established()
        let actions = machine.received(Self.addresses(2500), at: Self.at(1200))
        guard case .reportAddresses(let valid, let invalid, let rounds) = actions.first else {
            Issue.record("expected the addresses to be reported, got \(actions)")
            return
        }
        #expect(valid.count == 2500 && invalid == 0 && rounds == 1)
    }

    @Test("An Addresses message of 2,501 entries is a protocol error that ends the session; nothing is reported")
    func addressesOverTheCap() {
        var machine = established()
        let actions = machine.received(Self.addresses(2501), at: Self.at(1200))
        #expect(
            actions == [.close(DisconnectReason("protocol_error", "Addresses with 2501 entries, more than 2500"))])
        #expect(machine.isClosed)
        #expect(machine.report(at: Self.at(1200)).addressesReceived == 0)
    }

    @Test("Unsolicited Addresses are counted and ignored")
    func unsolicitedAddresses() {
        var machine = established()
        _ = machine.received(Self.addresses(3), at: Self.at(1200))  // the answer to our request
        _ = machine.addressDecision(wantsMore: false, at: Self.at(1200))
        let actions = machine.received(Self.addresses(5), at: Self.at(1300))
        #expect(!actions.contains { if case .reportAddresses = $0 { true } else { false } }, "\(actions)")
        let report = machine.report(at: Self.at(1300))
        #expect(report.unsolicitedAddresses == 1)
        #expect(report.addressesReceived == 3)
    }
}
