import Foundation
import KaspaP2P
import Testing

@testable import SensorHost

@Suite("Label rules: identity, IPv6 refusals, the probed port")
struct LabelRulesTests {
    static let peerID = Array(repeating: UInt8(0xaa), count: 16)

    func request(remote: String, advertise: String? = nil, id: [UInt8] = peerID) -> ProbeRequest {
        let address = advertise.flatMap { PeerAddress($0) }
        let version = PeerVersion(
            LocalVersion(network: .mainnet, userAgent: "/kaspad:2.0.1/", address: address, id: id).message().version)
        return ProbeRequest(remoteIP: IPAddress(remote)!, peerVersion: version, defaultPort: 16111)
    }

    func observed(_ outcome: String, _ classification: Classification, peerID: [UInt8]? = nil) -> ProbeResult {
        var result = ProbeResult(
            classification: classification, outcome: outcome, error: nil, target: nil, duration: nil, attempts: 1,
            cached: false)
        result.peerID = peerID?.hexString
        return result
    }

    @Test("Public only when the dialed node sends the inbound peer's id; another id is another node")
    func identity() {
        let peer = request(remote: "198.51.100.10")
        let same = peer.label(observed("version_received", .public, peerID: Self.peerID))
        #expect(same.classification == .public)
        #expect(same.outcome == "version_received")
        let other = peer.label(observed("version_received", .public, peerID: Array(repeating: 0xbb, count: 16)))
        #expect(other.classification == .unknown)
        #expect(other.outcome == "other_node_answered")
        #expect(other.error?.contains(String(repeating: "bb", count: 16)) == true)
        #expect(other.error?.contains(String(repeating: "aa", count: 16)) == true)
    }

    @Test("A refusal over IPv6 is unknown unless the Version names that IPv6 address; timeouts stay private")
    func ipv6Refusals() {
        let refused = observed("connection_refused", .private)
        let timedOut = observed("timed_out", .private)
        let overIPv6 = request(remote: "2001:db8:1::30")
        #expect(overIPv6.label(refused).classification == .unknown)
        #expect(overIPv6.label(refused).outcome == "refused_ipv6")
        #expect(overIPv6.label(timedOut).classification == .private)
        let namesIt = request(remote: "2001:db8:1::30", advertise: "[2001:db8:1::30]:16111")
        #expect(namesIt.label(refused).classification == .private)
        #expect(namesIt.label(refused).outcome == "connection_refused")
        let overIPv4 = request(remote: "198.51.100.80")
        #expect(overIPv4.label(refused).classification == .private)
        // IPv4-mapped connections are IPv4 connections.
        #expect(request(remote: "::ffff:198.51.100.80").label(refused).classification == .private)
    }

    @Test("The probed port: advertised, or the default when the Version names no address; never the named IP")
    func target() {
        let advertised = request(remote: "198.51.100.60", advertise: "198.51.100.71:16222")
        #expect(advertised.target == PeerAddress("198.51.100.60:16222"))
        #expect(advertised.portSource == .advertised)
        let none = request(remote: "198.51.100.100")
        #expect(none.target == PeerAddress("198.51.100.100:16111"))
        #expect(none.portSource == .default)
        let unspecified = request(remote: "198.51.100.101", advertise: "0.0.0.0:16111")
        #expect(unspecified.target.port == 16111)
        #expect(unspecified.portSource == .default)
        #expect(unspecified.peerVersion.addressUnspecified)
    }

    @Test("Cached results: a Version is reused only for the same id; address facts for anyone")
    func reuse() {
        let peer = request(remote: "198.51.100.90")
        #expect(peer.mayReuse(observed("version_received", .public, peerID: Self.peerID)))
        #expect(!peer.mayReuse(observed("version_received", .public, peerID: Array(repeating: 1, count: 16))))
        #expect(peer.mayReuse(observed("connection_refused", .private)))
        #expect(peer.mayReuse(observed("not_http2", .unknown)))
    }

    @Test("A Version without a 16-byte id is not probed: there is nothing to verify")
    func noID() {
        let peer = request(remote: "198.51.100.10", id: [1, 2, 3])
        #expect(peer.refusal?.outcome == "no_peer_id")
        #expect(request(remote: "198.51.100.10").refusal == nil)
    }
}

/// A manual clock's instant for the summarizer: time moves only when the test says so.
struct ManualInstant: InstantProtocol {
    var offset: Duration
    func advanced(by duration: Duration) -> ManualInstant { ManualInstant(offset: offset + duration) }
    func duration(to other: ManualInstant) -> Duration { other.offset - offset }
    static func < (lhs: ManualInstant, rhs: ManualInstant) -> Bool { lhs.offset < rhs.offset }
    static func at(_ seconds: Int) -> ManualInstant { ManualInstant(offset: .seconds(seconds)) }
}

@Suite("Repeat summarizer (manual clock)")
struct RepeatSummarizerTests {
    typealias Summarizer = RepeatSummarizer<String, ManualInstant>

    @Test("The first attempt of a window is reported, the rest are one summary when the window ends")
    func window() {
        var summarizer = Summarizer(interval: .seconds(60), capacity: 100)
        var evicted: [Summarizer.Summary] = []
        #expect(summarizer.record("a", at: .at(0), evicted: &evicted) == .report)
        #expect(summarizer.record("a", at: .at(1), evicted: &evicted) == .counted)
        #expect(summarizer.record("a", at: .at(59), evicted: &evicted) == .counted)
        #expect(summarizer.record("b", at: .at(10), evicted: &evicted) == .report)
        #expect(summarizer.expire(at: .at(59)).isEmpty)
        let ended = summarizer.expire(at: .at(60))
        #expect(ended == [Summarizer.Summary(key: "a", count: 2, first: .at(1), last: .at(59))])
        // b's window (opened at 10) is still open; it ends with nothing counted: no summary, no longer tracked.
        #expect(summarizer.trackedSources == 1)
        #expect(summarizer.expire(at: .at(70)).isEmpty)
        #expect(summarizer.trackedSources == 0)
        #expect(evicted.isEmpty)
        // A new window starts with a full report again.
        #expect(summarizer.record("a", at: .at(61), evicted: &evicted) == .report)
    }

    @Test("An attempt after the window ended but before the tick reports the old window and opens a new one")
    func lateTick() {
        var summarizer = Summarizer(interval: .seconds(10), capacity: 100)
        var evicted: [Summarizer.Summary] = []
        _ = summarizer.record("a", at: .at(0), evicted: &evicted)
        _ = summarizer.record("a", at: .at(5), evicted: &evicted)
        #expect(summarizer.record("a", at: .at(12), evicted: &evicted) == .report)
        #expect(evicted == [Summarizer.Summary(key: "a", count: 1, first: .at(5), last: .at(5))])
    }

    @Test("A full table summarises early instead of losing counts; drain reports every open window")
    func capacity() {
        var summarizer = Summarizer(interval: .seconds(60), capacity: 2)
        var evicted: [Summarizer.Summary] = []
        _ = summarizer.record("a", at: .at(0), evicted: &evicted)
        _ = summarizer.record("a", at: .at(1), evicted: &evicted)
        _ = summarizer.record("b", at: .at(2), evicted: &evicted)
        #expect(summarizer.record("c", at: .at(3), evicted: &evicted) == .report)
        #expect(evicted == [Summarizer.Summary(key: "a", count: 1, first: .at(1), last: .at(1))])
        #expect(summarizer.trackedSources == 1)
        _ = summarizer.record("c", at: .at(4), evicted: &evicted)
        _ = summarizer.record("c", at: .at(5), evicted: &evicted)
        #expect(summarizer.drain() == [Summarizer.Summary(key: "c", count: 2, first: .at(4), last: .at(5))])
        #expect(summarizer.trackedSources == 0)
    }

    @Test("A flood of 10,000 attempts from one source in one window is two events")
    func flood() {
        var summarizer = Summarizer(interval: .seconds(60), capacity: 100)
        var evicted: [Summarizer.Summary] = []
        var reported = 0
        for second in 0..<10_000 {
            let at = ManualInstant(offset: .milliseconds(second * 5))
            if summarizer.record("flood", at: at, evicted: &evicted) == .report { reported += 1 }
        }
        #expect(reported == 1)
        #expect(summarizer.drain().map(\.count) == [9_999])
    }
}
