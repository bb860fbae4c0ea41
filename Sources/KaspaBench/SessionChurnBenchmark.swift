import KaspaP2P
import NIOPosix

/// Figure 2d: what stays behind per completed session. Runs `warmUp` short sessions (handshake, then the peer
/// leaves), reads the sensor's anonymous resident memory (`RssAnon`: heap and task memory, not mapped files such
/// as the journal or SQLite's), runs `sessions` more in `steps` equal parts reading it after each, and reports the
/// growth per session over the measured part. Memory that is only reused (allocator caches, the sink's queue)
/// levels off in the warm-up; a leak grows with every step.
struct SessionChurnBenchmark {
    /// What a run measured.
    struct Measurement {
        /// `RssAnon` after the warm-up and after each step, bytes.
        var anonymousBytes: [Int]
        /// Sessions per step.
        var sessionsPerStep: Int
        /// Failed handshakes.
        var failures: Int

        /// Bytes of growth per session from the end of the warm-up to the last step.
        var bytesPerSession: Double {
            guard let first = anonymousBytes.first, let last = anonymousBytes.last, anonymousBytes.count > 1 else {
                return 0
            }
            return Double(last - first) / Double(sessionsPerStep * (anonymousBytes.count - 1))
        }
    }

    var warmUp: Int
    var sessions: Int
    var steps: Int
    var concurrency: Int
    var group: MultiThreadedEventLoopGroup
    var sources: SourceAddresses

    func run(against sensor: SensorProcess) async throws -> Measurement {
        let client = LoadClient(target: sensor.address, sources: sources, group: group)
        var failures = await churn(client, sessions: warmUp)
        try await Task.sleep(for: Self.timersOver)
        var readings = [ChildProcesses.anonymousBytes(of: sensor.pid)]
        let perStep = sessions / steps
        for step in 0..<steps {
            failures += await churn(client, sessions: perStep)
            try await Task.sleep(for: step == steps - 1 ? Self.timersOver : .seconds(3))
            readings.append(ChildProcesses.anonymousBytes(of: sensor.pid))
        }
        return Measurement(anonymousBytes: readings, sessionsPerStep: perStep, failures: failures)
    }

    /// Longer than the longest deadline of a session (the 20 s Version timeout): what a timer holds until its
    /// deadline (a cancelled sleep keeps its timer until then) is bounded in time, not left behind, so the first
    /// and last readings wait it out.
    private static let timersOver = Duration.seconds(25)

    /// Runs `sessions` handshakes, `concurrency` at a time; returns the failures.
    func churn(_ client: LoadClient, sessions: Int) async -> Int {
        await withTaskGroup(of: Int.self) { group in
            let perTask = sessions / concurrency
            for _ in 0..<concurrency {
                group.addTask {
                    var failures = 0
                    for _ in 0..<perTask {
                        if case .failed = await client.handshake() { failures += 1 }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
    }
}
