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
        let nodes = (0..<third).map { index in
            NodeEmulator(
                address: PeerAddress("127.0.\(10 + index / 250).\(1 + index % 250):0")!,
                network: .mainnet,
                userAgent: "/kaspa-bench-node:0.1/"
            )
        }
        let silent = try (0..<third).map { _ in try RawListener(saturated: true) }
        return try await withThrowingTaskGroup(of: Void.self) { servers in
            for node in nodes {
                servers.addTask { try await node.run() }
            }
            var targets: [PeerAddress] = []
            for node in nodes {
                while true {
                    if let address = try? await node.listeningAddress() {
                        targets.append(address)
                        break
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            targets += silent.map(\.address)
            // Nothing listens on 127.0.200.x: refused.
            targets += (0..<(probes - targets.count)).map {
                PeerAddress("127.0.\(200 + $0 / 250).\(1 + $0 % 250):16111")!
            }
            let measurement = await fanOut(to: targets)
            for node in nodes { node.stop() }
            servers.cancelAll()
            return measurement
        }
    }

    private func fanOut(to targets: [PeerAddress]) async -> Measurement {
        var configuration = SensorConfiguration().probing
        configuration.timeoutMilliseconds = Int(timeout.seconds * 1000)
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
            for target in targets {
                probes.addTask {
                    let result = await prober.probe(target)
                    return (ContinuousClock.now - start, result.classification.rawValue)
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
