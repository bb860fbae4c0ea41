import KaspaP2P
import NIOPosix
import Synchronization

/// Figure 2: how many idle peers (handshake done, staying connected) the sensor holds and what each costs in
/// resident memory. Opens `peers` connections with at most `openingConcurrency` handshakes in flight, keeps them
/// open, and reads the sensor's VmRSS before and after.
struct IdlePeersBenchmark {
    /// What a run measured.
    struct Measurement {
        /// Peers whose handshake completed and which were still connected at the end.
        var held: Int
        /// Handshakes that failed.
        var failures: Int
        /// The first failure reason.
        var firstFailure: String?
        /// Sensor RSS before any peer, bytes.
        var idleBytes: Int
        /// Sensor RSS with every peer held, bytes.
        var loadedBytes: Int
        /// Seconds it took to open them.
        var openingSeconds: Double
    }

    /// Peers to hold.
    var peers: Int
    /// Handshakes in flight at once while opening.
    var openingConcurrency: Int
    /// The client event loops.
    var group: MultiThreadedEventLoopGroup
    /// The source addresses.
    var sources: SourceAddresses

    /// Runs against `sensor` (or the baseline server, for comparison).
    func run(against sensor: some MeasuredServer) async throws -> Measurement {
        try await Task.sleep(for: .seconds(2))
        let idle = sensor.residentBytes
        // Peers gzip their messages like rusty-kaspa nodes, so the server holds what it holds for real nodes.
        let client = LoadClient(target: sensor.address, sources: sources, group: group, gzipLikeNodes: true)
        let start = ContinuousClock.now
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            let progress = try await open(with: client, in: &tasks)
            let opening = (ContinuousClock.now - start).seconds
            // Let allocations settle (handshake buffers freed, timers armed) before reading memory.
            try await Task.sleep(for: .seconds(3))
            let loaded = sensor.residentBytes
            let final = progress.state.withLock { $0 }
            tasks.cancelAll()
            return Measurement(
                held: final.completed - final.closedEarly,
                failures: final.failed,
                firstFailure: final.firstFailure,
                idleBytes: idle,
                loadedBytes: loaded,
                openingSeconds: opening
            )
        }
    }

    /// Opens `peers` idle sessions with `client` as tasks of `tasks`, at most `openingConcurrency` handshakes in
    /// flight; returns once every handshake has completed or failed (the sessions stay until `tasks` is cancelled).
    func open(with client: LoadClient, in tasks: inout ThrowingTaskGroup<Void, any Error>) async throws -> Shared {
        let progress = Shared(Progress())
        for _ in 0..<peers {
            while progress.state.withLock({ $0.launched - $0.completed - $0.failed }) >= openingConcurrency {
                try await Task.sleep(for: .milliseconds(1))
            }
            progress.state.withLock { $0.launched += 1 }
            tasks.addTask {
                let result = await client.stay { result in
                    progress.state.withLock { progress in
                        switch result {
                        case .completed: progress.completed += 1
                        case .failed(let reason):
                            progress.failed += 1
                            progress.firstFailure = progress.firstFailure ?? reason
                        }
                    }
                }
                if case .completed = result {
                    progress.state.withLock { $0.closedEarly += 1 }
                }
            }
        }
        while progress.state.withLock({ $0.completed + $0.failed }) < peers {
            try await Task.sleep(for: .milliseconds(10))
        }
        return progress
    }

    /// How the opening went, shared with the peers' tasks.
    final class Shared: Sendable {
        let state: Mutex<Progress>
        init(_ progress: Progress) { state = Mutex(progress) }
    }

    /// Counts of the opening.
    struct Progress {
        var launched = 0
        var completed = 0
        var failed = 0
        var closedEarly = 0
        var firstFailure: String?
    }
}
