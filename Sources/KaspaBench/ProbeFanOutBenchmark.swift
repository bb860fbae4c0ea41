import KaspaP2P
import Logging
import NIOPosix
import SensorHost
import Synchronization
import TestSupport

/// Figure 4: `probes` simultaneous probes through the sensor's ``Prober`` against a mix of targets, a third each:
/// Kaspa nodes that answer (``NodeEmulator``s on distinct 127.0.x addresses), addresses where nothing listens
/// (refused), and listeners whose accept queue is full so SYNs go unanswered (silent: the connect times out).
/// Every probe must be labelled within the probe timeout plus 50 ms of the fan-out's start.
struct ProbeFanOutBenchmark {
    /// What a run measured.
    struct Measurement {
        /// Probes that returned.
        var labelled: Int
        /// The slowest probe, from the fan-out's start, in milliseconds.
        var slowestMilliseconds: Double
        /// Percentiles of all probes.
        var latencies: LatencySamples
        /// How many ended public, private and unknown.
        var classifications: [String: Int]
    }

    /// Probes in the fan-out.
    var probes: Int
    /// The probe timeout.
    var timeout: Duration
    /// The event loops the probes run on.
    var group: MultiThreadedEventLoopGroup

    /// Sets up the targets, fans out, and tears the targets down.
    func run() async throws -> Measurement {
        let third = probes / 3
        let nodeIDs = (0..<third).map { _ in LocalVersion.makeID() }
        let nodes = (0..<third).map { index in
            NodeEmulator(
                address: PeerAddress("127.0.\(10 + index / 250).\(1 + index % 250):0")!,
                network: .mainnet,
                userAgent: "/kaspa-bench-node:0.1/",
                id: nodeIDs[index]
            )
        }
        let silent = try (0..<third).map { _ in try RawListener(saturated: true) }
        return try await withThrowingTaskGroup(of: Void.self) { servers in
            for node in nodes {
                servers.addTask { try await node.run() }
            }
            // Each target with the id the inbound peer would have sent: a node's own, random for the others.
            var targets: [(PeerAddress, [UInt8])] = []
            for (node, id) in zip(nodes, nodeIDs) {
                while true {
                    if let address = try? await node.listeningAddress() {
                        targets.append((address, id))
                        break
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            targets += silent.map { ($0.address, LocalVersion.makeID()) }
            // Nothing listens on 127.0.200.x: refused.
            targets += (0..<(probes - targets.count)).map {
                (PeerAddress("127.0.\(200 + $0 / 250).\(1 + $0 % 250):16111")!, LocalVersion.makeID())
            }
            let measurement = await fanOut(to: targets)
            for node in nodes { node.stop() }
            servers.cancelAll()
            return measurement
        }
    }

    private func fanOut(to targets: [(PeerAddress, [UInt8])]) async -> Measurement {
        var configuration = SensorConfiguration().probing
        configuration.connectTimeoutMilliseconds = Int(timeout.seconds * 1000)
        configuration.maxConcurrent = targets.count
        configuration.queueCapacity = targets.count
        configuration.allowPrivateTargets = true
        configuration.retryOnTimeout = false
        var logger = Logger(label: "kaspa-bench")
        logger.logLevel = .error
        let prober = Prober(
            configuration: configuration,
            network: .mainnet,
            userAgent: "/kaspa-bench-prober:0.1/",
            dialer: KaspaDialer(eventLoopGroup: group, maxMessageBytes: 1 << 20),
            metrics: SensorMetrics(),
            logger: logger
        )
        let start = ContinuousClock.now
        return await withTaskGroup(of: (Duration, String).self) { probes in
            for (target, id) in targets {
                probes.addTask {
                    // The label counts (it is known at the node's Version), not the polite close after it.
                    let labelledAt = Mutex<ContinuousClock.Instant?>(nil)
                    let version = PeerVersion(
                        LocalVersion(network: .mainnet, userAgent: "/kaspa-bench-peer:0.1/", address: target, id: id)
                            .message().version)
                    let result = await prober.probe(prober.request(remoteIP: target.ip, version: version)) { _ in
                        labelledAt.withLock { $0 = ContinuousClock.now }
                    }
                    let at = labelledAt.withLock { $0 } ?? ContinuousClock.now
                    return (at - start, result.classification.rawValue)
                }
            }
            var measurement = Measurement(
                labelled: 0, slowestMilliseconds: 0, latencies: LatencySamples(), classifications: [:])
            for await (elapsed, classification) in probes {
                measurement.labelled += 1
                measurement.latencies.add(elapsed)
                measurement.slowestMilliseconds = max(measurement.slowestMilliseconds, elapsed.seconds * 1000)
                measurement.classifications[classification, default: 0] += 1
            }
            return measurement
        }
    }
}
