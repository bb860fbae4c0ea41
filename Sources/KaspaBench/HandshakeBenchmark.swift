import KaspaP2P
import NIOPosix
import Synchronization

/// Figure 1: inbound handshakes per second and their latency, with `concurrency` simulated peers connecting
/// back to back for `duration` (after a one-second warm-up) from rotating 127.x source addresses.
struct HandshakeBenchmark {
    /// What a run measured.
    struct Measurement {
        /// Completed handshakes per second.
        var rate: Double
        /// Latencies of the completed handshakes.
        var latencies: LatencySamples
        /// Failed attempts and the first reason seen.
        var failures: Int
        /// The first failure reason, if any.
        var firstFailure: String?
        /// CPU time the server process spent per completed handshake, in microseconds.
        var serverMicrosecondsPerHandshake: Double = 0
    }

    /// Simulated peers in flight at once.
    var concurrency: Int
    /// How long to measure.
    var duration: Duration
    /// The client event loops.
    var group: MultiThreadedEventLoopGroup
    /// The source addresses.
    var sources: SourceAddresses

    /// Runs the load against `server`, also reading the CPU time the server's process spends.
    func run(against server: some MeasuredServer) async -> Measurement {
        let client = LoadClient(target: server.address, sources: sources, group: group)
        _ = await load(client, for: .seconds(1))
        let start = ContinuousClock.now
        let cpuBefore = ChildProcesses.cpuSeconds(of: server.pid)
        var measurement = await load(client, for: duration)
        measurement.rate = Double(measurement.latencies.count) / (ContinuousClock.now - start).seconds
        let cpu = ChildProcesses.cpuSeconds(of: server.pid) - cpuBefore
        measurement.serverMicrosecondsPerHandshake = cpu * 1e6 / Double(max(measurement.latencies.count, 1))
        return measurement
    }

    private func load(_ client: LoadClient, for duration: Duration) async -> Measurement {
        let end = ContinuousClock.now + duration
        return await withTaskGroup(of: Measurement.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var measurement = Measurement(rate: 0, latencies: LatencySamples(), failures: 0)
                    while ContinuousClock.now < end {
                        switch await client.handshake() {
                        case .completed(let latency):
                            measurement.latencies.add(latency)
                        case .failed(let reason):
                            measurement.failures += 1
                            measurement.firstFailure = measurement.firstFailure ?? reason
                        }
                    }
                    return measurement
                }
            }
            var total = Measurement(rate: 0, latencies: LatencySamples(), failures: 0)
            for await part in group {
                total.latencies.merge(part.latencies)
                total.failures += part.failures
                total.firstFailure = total.firstFailure ?? part.firstFailure
            }
            return total
        }
    }
}
