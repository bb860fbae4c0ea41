import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import KaspaP2P
import NIOPosix
import Synchronization
import TestSupport
import Testing

/// A Kaspa listener for tests: a grpc-swift server whose every stream runs a ``PeerSession`` as acceptor.
final class TestNode: Sendable {
    let transport: HTTP2ServerTransport.Posix
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let reports: AsyncStream<SessionReport>

    init(network: KaspaNetwork = .mainnet, configuration: PeerSessionConfiguration) {
        let (reports, sink) = AsyncStream<SessionReport>.makeStream()
        self.reports = reports
        transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .plaintext,
            config: .defaults { $0.compression.enabledAlgorithms = .all }
        )
        server = GRPCServer(
            transport: transport,
            services: [
                MessageStreamService { inbound, writer, _ in
                    let session = PeerSession(
                        local: LocalVersion(network: network, userAgent: "/test-node:1/"),
                        configuration: configuration,
                        observer: AdvertisingObserver()
                    )
                    session.release()
                    sink.yield(await session.run(inbound: inbound, writer: writer))
                }
            ]
        )
    }

    func address() async throws -> PeerAddress {
        let bound = try await transport.listeningAddress
        return PeerAddress("127.0.0.1:\(bound.ipv4!.port)")!
    }

    func withRunning<T: Sendable>(_ body: @Sendable (PeerAddress) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await self.server.serve()
                return nil
            }
            let result = try await body(try await address())
            server.beginGracefulShutdown()
            group.cancelAll()
            return result
        }
    }
}

/// Advertises two addresses so the dialer's harvest can be checked.
struct AdvertisingObserver: PeerSessionObserver {
    func addressesToAdvertise() -> [PeerAddress] {
        [PeerAddress("1.2.3.4:16111")!, PeerAddress("[2001:db8::1]:16111")!]
    }
}

/// Collects the addresses a session receives.
final class HarvestObserver: PeerSessionObserver {
    let received = Mutex<[PeerAddress]>([])

    func addressesReceived(_ addresses: [PeerAddress], invalid: Int, from peer: PeerVersion?) {
        received.withLock { $0 += addresses }
    }
}

@Suite("Peer sessions over loopback sockets")
struct SessionLoopbackTests {
    let dialer = KaspaDialer(maxMessageBytes: 32 << 20)

    @Test("Both roles complete the handshake and the address exchange, then close politely")
    func bothRoles() async throws {
        let node = TestNode(
            configuration: PeerSessionConfiguration(
                afterHandshake: .closeAfterExchange(addressWait: .seconds(5), linger: .zero),
                addressRequestRounds: 0
            ))
        let harvest = HarvestObserver()
        let outcome = try await node.withRunning { address in
            await dialer.dial(
                address,
                connectTimeout: .seconds(2),
                deadline: .seconds(10),
                local: LocalVersion(network: .mainnet, userAgent: "/dialer:1/"),
                configuration: PeerSessionConfiguration(
                    afterHandshake: .closeAfterExchange(addressWait: .seconds(5), linger: .zero),
                    addressRequestRounds: 1
                ),
                observer: harvest
            )
        }
        guard case .connected(let report?, nil) = outcome else {
            Issue.record("expected a session, got \(outcome)")
            return
        }
        #expect(report.handshakeCompleted)
        #expect(report.peerVersion?.userAgent == "/test-node:1/")
        #expect(report.peerVersion?.protocolVersion == 10)
        #expect(report.addressesReceived == 2)
        #expect(harvest.received.withLock { $0.map(\.description) } == ["1.2.3.4:16111", "[2001:db8::1]:16111"])
        var reports = node.reports.makeAsyncIterator()
        let acceptor = await reports.next()
        #expect(acceptor?.handshakeCompleted == true)
        #expect(acceptor?.peerVersion?.userAgent == "/dialer:1/")
        #expect(acceptor?.addressesSent == 1)
    }

    @Test("A probe stops at the peer's Version")
    func probeStopsAtVersion() async throws {
        let node = TestNode(configuration: PeerSessionConfiguration(afterHandshake: .stayConnected))
        let outcome = try await node.withRunning { address in
            await dialer.dial(
                address,
                connectTimeout: .seconds(2),
                deadline: .seconds(5),
                local: LocalVersion(network: .mainnet, userAgent: "/probe:1/"),
                configuration: PeerSessionConfiguration(afterHandshake: .stopAtPeerVersion, addressRequestRounds: 0)
            )
        }
        guard case .connected(let report?, _) = outcome else {
            Issue.record("expected a session, got \(outcome)")
            return
        }
        #expect(report.peerVersion?.network == "kaspa-mainnet")
        #expect(report.disconnectReason == .probeComplete)
    }

    @Test("A peer on another network gets a Reject naming both networks")
    func wrongNetwork() async throws {
        let node = TestNode(network: .testnet10, configuration: PeerSessionConfiguration())
        let outcome = try await node.withRunning { address in
            await dialer.dial(
                address,
                connectTimeout: .seconds(2),
                deadline: .seconds(5),
                local: LocalVersion(network: .mainnet, userAgent: "/dialer:1/"),
                configuration: PeerSessionConfiguration()
            )
        }
        guard case .connected(let report?, _) = outcome else {
            Issue.record("expected a session, got \(outcome)")
            return
        }
        // Both sides reject; whichever Reject is read first, the handshake fails and names both networks.
        let failure = try #require(report.handshakeFailure)
        #expect([HandshakeFailure.Code.wrongNetwork, .peerRejected].contains(failure.code))
        #expect(failure.message.contains("kaspa-mainnet") && failure.message.contains("kaspa-testnet-10"))
    }

    @Test("Dial failures are classified: refused, timed out, open but silent, another protocol; port 0 never dialed")
    func dialFailures() async throws {
        let local = LocalVersion(network: .mainnet, userAgent: "/dialer:1/")
        let probe = PeerSessionConfiguration(afterHandshake: .stopAtPeerVersion, addressRequestRounds: 0)

        let refused = await dialer.dial(
            RawListener.closedPort(), connectTimeout: .seconds(2), deadline: .seconds(2), local: local,
            configuration: probe)
        guard case .notConnected(let refusal) = refused else {
            Issue.record("expected no connection, got \(refused)")
            return
        }
        #expect(refusal.kind == .refused)

        let saturated = try RawListener(saturated: true)
        let silentFirewall = await dialer.dial(
            saturated.address, connectTimeout: .milliseconds(300), deadline: .seconds(2), local: local,
            configuration: probe)
        guard case .notConnected(let timeout) = silentFirewall else {
            Issue.record("expected a connect timeout, got \(silentFirewall)")
            return
        }
        #expect(timeout.kind == .timedOut)

        var quick = dialer
        quick.settingsTimeout = .milliseconds(300)
        let mute = try RawListener(saturated: false)
        let silent = await quick.dial(
            mute.address, connectTimeout: .seconds(1), deadline: .seconds(20), local: local, configuration: probe)
        guard case .notHTTP2(let nothing) = silent else {
            Issue.record("expected an open but silent target, got \(silent)")
            return
        }
        #expect(nothing.contains("nothing was sent within 300 ms"), "\(nothing)")

        // Another protocol answers the HTTP/2 preface with its own words: what it said is the evidence.
        let web = try RawListener(
            saturated: false, greeting: Array("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n".utf8))
        let start = ContinuousClock.now
        let http1 = await quick.dial(
            web.address, connectTimeout: .seconds(1), deadline: .seconds(20), local: local, configuration: probe)
        guard case .notHTTP2(let said) = http1 else {
            Issue.record("expected an HTTP/1.1 server, got \(http1)")
            return
        }
        #expect(said.contains("\"HTTP/1.1 400 Bad Request\""), "\(said)")
        // Decided by the first bytes, not by a timeout.
        #expect(ContinuousClock.now - start < .seconds(5))

        let zero = await dialer.dial(
            PeerAddress("127.0.0.1:0")!, connectTimeout: .seconds(1), deadline: .seconds(1), local: local,
            configuration: probe)
        guard case .notConnected(let never) = zero else {
            Issue.record("port 0 must never be dialed, got \(zero)")
            return
        }
        #expect(never.message.contains("port 0 is never dialed"))
    }

    @Test("The connect timeout counts from the dial, not from when a busy event loop gets to the connect")
    func connectDeadlineCountsFromTheCall() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let saturated = try RawListener(saturated: true)
        // The only event loop is busy for 400 ms, as a burst of a thousand dials keeps it busy.
        let loop = loops.next()
        loop.execute { usleep(400_000) }
        let start = ContinuousClock.now
        let outcome = await KaspaDialer(eventLoopGroup: loops, maxMessageBytes: 1 << 20).dial(
            saturated.address, connectTimeout: .milliseconds(600), deadline: .seconds(5),
            local: LocalVersion(network: .mainnet, userAgent: "/dialer:1/"),
            configuration: PeerSessionConfiguration(afterHandshake: .stopAtPeerVersion, addressRequestRounds: 0))
        let elapsed = ContinuousClock.now - start
        try await loops.shutdownGracefully()
        guard case .notConnected(let failure) = outcome else {
            Issue.record("expected a connect timeout, got \(outcome)")
            return
        }
        #expect(failure.kind == .timedOut)
        // NIO's own timer would start after the 400 ms and end at about 1000 ms.
        #expect(elapsed >= .milliseconds(590) && elapsed < .milliseconds(900), "took \(elapsed)")
    }
}
