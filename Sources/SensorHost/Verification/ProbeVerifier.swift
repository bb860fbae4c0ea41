import Foundation
public import KaspaP2P

/// Checks a running sensor end to end, like the seed's `test_probe.py`: connect as a peer advertising a local
/// listener, finish the handshake, wait for the sensor's probe to arrive at the listener, and find the stored
/// event. Each step produces a verdict as it completes.
public struct ProbeVerifier: Sendable {
    /// One step's result.
    public struct Verdict: Sendable, CustomStringConvertible {
        /// The step's name.
        public var step: String
        /// Whether it passed.
        public var passed: Bool
        /// Details.
        public var detail: String
        /// `[PASS] step: detail`.
        public var description: String { "[\(passed ? "PASS" : "FAIL")] \(step): \(detail)" }
    }

    /// The sensor's P2P address.
    public var sensor: PeerAddress
    /// Where to listen for the probe; its IP must be the one we connect from (the sensor dials that IP back).
    public var listen: PeerAddress
    /// The sensor's SQLite events database, to confirm the event was stored (optional).
    public var database: String?
    /// The network the sensor speaks.
    public var network: KaspaNetwork
    /// How long each step may take.
    public var timeout: Duration

    /// Creates a verifier.
    public init(sensor: PeerAddress, listen: PeerAddress, database: String?, network: KaspaNetwork, timeout: Duration) {
        self.sensor = sensor
        self.listen = listen
        self.database = database
        self.network = network
        self.timeout = timeout
    }

    /// Runs the steps, calling `report` after each; returns true when all passed.
    public func run(report: @Sendable (Verdict) -> Void) async -> Bool {
        let userAgent = LocalVersion.userAgent(name: "kaspa-sensor-verify", version: "0.1.0")
        let nodeID = LocalVersion.makeID()
        let emulator = NodeEmulator(address: listen, network: network, userAgent: userAgent, id: nodeID)
        return await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await emulator.run() }
            defer {
                emulator.stop()
                group.cancelAll()
            }
            guard let bound = try? await emulator.listeningAddress() else {
                report(Verdict(step: "listen", passed: false, detail: "cannot listen on \(listen)"))
                return false
            }
            report(Verdict(step: "listen", passed: true, detail: "waiting for the probe on \(bound)"))
            let local = LocalVersion(network: network, userAgent: userAgent, address: bound, id: nodeID)
            let outcome = await KaspaDialer(maxMessageBytes: 32 << 20).dial(
                sensor,
                connectTimeout: timeout,
                deadline: timeout * 3,
                local: local,
                configuration: PeerSessionConfiguration(
                    afterHandshake: .closeAfterExchange(addressWait: timeout, linger: .zero),
                    addressRequestRounds: 1
                ),
                observer: ReleasingObserver()
            )
            guard handshakePassed(outcome, report: report) else { return false }
            let versions = emulator.versions
            let probe: PeerVersion? =
                (try? await withDeadline(timeout * 3) {
                    var iterator = versions.makeAsyncIterator()
                    return await iterator.next()
                }) ?? nil
            if let version = probe {
                report(Verdict(step: "probe", passed: true, detail: "the sensor dialed back: \(version.userAgent)"))
            } else {
                report(Verdict(step: "probe", passed: false, detail: "no dial-back arrived at \(bound)"))
            }
            guard let database else {
                report(Verdict(step: "stored", passed: true, detail: "skipped (no --database given)"))
                return probe != nil
            }
            return await storedPassed(database: database, peerID: local.id.hexString, report: report) && probe != nil
        }
    }

    private func handshakePassed(_ outcome: KaspaDialer.Outcome, report: (Verdict) -> Void) -> Bool {
        switch outcome {
        case .notConnected(let failure):
            report(Verdict(step: "connect", passed: false, detail: "\(sensor): \(failure)"))
            return false
        case .notHTTP2(let detail):
            report(Verdict(step: "connect", passed: false, detail: "\(sensor) is not a gRPC server: \(detail)"))
            return false
        case .connected(nil, let error):
            report(Verdict(step: "connect", passed: false, detail: "no gRPC stream: \(error ?? "unknown")"))
            return false
        case .connected(let report?, _):
            let agent = report.peerVersion?.userAgent ?? "?"
            let passed = report.handshakeCompleted
            let detail =
                passed
                ? "handshake completed with \(agent) in \(report.handshakeDuration.map { String(format: "%.1f ms", $0.milliseconds) } ?? "?")"
                : "handshake failed: \(report.handshakeFailure?.description ?? "")"
            reportVerdict(report: report, passed: passed, detail: detail)
            return passed
        }
        func reportVerdict(report _: SessionReport, passed: Bool, detail: String) {
            report(Verdict(step: "handshake", passed: passed, detail: detail))
        }
    }

    private func storedPassed(database: String, peerID: String, report: (Verdict) -> Void) async -> Bool {
        let reader = EventDatabaseReader(path: database)
        let deadline = ContinuousClock.now + timeout * 4
        while ContinuousClock.now < deadline {
            if let row = try? reader.connectionEvent(peerIDHex: peerID) {
                var detail = "event stored: handshake \(row.handshakeOutcome), classification \(row.classification)"
                detail += " (\(row.probeOutcome)\(row.probeError.map { ": \($0)" } ?? ""))"
                report(Verdict(step: "stored", passed: row.classification == "public", detail: detail))
                return row.classification == "public"
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        report(Verdict(step: "stored", passed: false, detail: "no event for peer id \(peerID) in \(database)"))
        return false
    }
}

/// Lets the verifier's session close as soon as the address exchange is done.
private struct ReleasingObserver: PeerSessionObserver {}
