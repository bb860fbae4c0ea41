import Foundation
import KaspaP2P
import NIOPosix
import Synchronization

/// Figure 5: honest peers' handshakes while the sensor is under attack. The sensor runs with the per-source limits
/// applied to loopback (`exempt_loopback = false`) and its defaults otherwise. First `peers` honest peers handshake
/// on a quiet sensor; then `silent` TCP connections that never send a byte arrive, each from its own /24 (a
/// spread-out flood no per-source limit stops), and one source opens as many staying sessions as it can; while
/// both hold, the same honest peers handshake again. It reports both p99s, the failures, the peak resident memory,
/// what became of the silent connections and how many sessions the one source got.
struct HostileLoadBenchmark: Sendable {
    /// What a run measured.
    struct Measurement {
        var quiet: LatencySamples
        var quietFailures: Int
        var hostile: LatencySamples
        var hostileFailures: Int
        var firstFailure: String?
        var idleBytes: Int
        var peakBytes: Int
        /// Silent connections the sensor accepted and then closed, and those it closed at once (refused).
        var silentOpened: Int
        var silentClosedByDeadline: Int
        var silentStillOpen: Int
        /// Sessions the single source got, of those it tried.
        var attackerHeld: Int
        var attackerTried: Int
        /// Resident memory 12 s after the attack ended.
        var afterBytes: Int
    }

    var peers = 100
    var silent = 5_000
    var attackerSessions = 64
    var concurrency = 10
    var group: MultiThreadedEventLoopGroup

    func run() async throws -> Measurement {
        let sensor = try await SensorProcess(
            options: .init(maxInbound: 1024, limits: ["exempt_loopback = false"]))
        let result = await measure(address: sensor.address, pid: sensor.pid)
        await sensor.stop()
        return result
    }

    private func measure(address: PeerAddress, pid: Int32) async -> Measurement {
        try? await Task.sleep(for: .seconds(1))
        let idle = ChildProcesses.residentBytes(of: pid)
        let honest = LoadClient(target: address, sources: SourceAddresses(count: peers, firstOctet: 1), group: group)
        let quiet = await handshakes(honest)

        // The attack: the silent flood, then one source's sessions, held while the honest peers come again.
        let peak = Counter()
        let sampling = Task.detached {
            while !Task.isCancelled {
                peak.value.max(ChildProcesses.residentBytes(of: pid), ordering: .relaxed)
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let silent = self.silent
        let flood = await Task.detached { SilentFlood.open(silent, to: address) }.value
        let attacker = LoadClient(target: address, sources: SourceAddresses(count: 1, firstOctet: 200), group: group)
        let held = Counter()
        let sessions = attackerSessions
        let attackTasks = Task {
            await withTaskGroup(of: Void.self) { tasks in
                for _ in 0..<sessions {
                    tasks.addTask {
                        _ = await attacker.stay { result in
                            if case .completed = result { held.value.add(1, ordering: .relaxed) }
                        }
                    }
                }
            }
        }
        try? await Task.sleep(for: .seconds(2))
        let hostile = await handshakes(honest)
        let attackerHeld = held.value.load(ordering: .relaxed)
        // The silent connections' fate: the sensor closes them at the pre-stream deadline (10 s by default).
        let fate = await Task.detached { flood.closedWithin(seconds: 15) }.value
        attackTasks.cancel()
        sampling.cancel()
        flood.close()
        // What the sensor gives back once the flood is over and its connections are gone (it trims every 5 s).
        try? await Task.sleep(for: .seconds(12))
        let after = ChildProcesses.residentBytes(of: pid)
        return Measurement(
            quiet: quiet.latencies, quietFailures: quiet.failures, hostile: hostile.latencies,
            hostileFailures: hostile.failures, firstFailure: hostile.firstFailure ?? quiet.firstFailure,
            idleBytes: idle, peakBytes: peak.value.load(ordering: .relaxed), silentOpened: flood.count,
            silentClosedByDeadline: fate.closed, silentStillOpen: fate.open, attackerHeld: attackerHeld,
            attackerTried: attackerSessions, afterBytes: after)
    }

    /// A counter shared with tasks.
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// A round's results, shared with its tasks.
    private final class RoundBox: Sendable {
        let state = Mutex(Round())
    }

    private struct Round {
        var latencies = LatencySamples()
        var failures = 0
        var firstFailure: String?
    }

    /// `peers` handshakes, `concurrency` in flight.
    private func handshakes(_ client: LoadClient) async -> Round {
        let round = RoundBox()
        await withTaskGroup(of: Void.self) { tasks in
            for index in 0..<peers {
                if index >= concurrency { await tasks.next() }
                tasks.addTask {
                    let result = await client.handshake()
                    round.state.withLock { round in
                        switch result {
                        case .completed(let duration): round.latencies.add(duration)
                        case .failed(let reason):
                            round.failures += 1
                            round.firstFailure = round.firstFailure ?? reason
                        }
                    }
                }
            }
        }
        return round.state.withLock { $0 }
    }
}

/// Plain TCP connections that never send a byte, each from its own /24 (127.100.1.1, 127.100.2.1, …).
final class SilentFlood: @unchecked Sendable {
    private let descriptors: [Int32]

    private init(descriptors: [Int32]) {
        self.descriptors = descriptors
    }

    var count: Int { descriptors.count }

    /// Opens up to `count` connections to `target` (blocking connects; loopback answers at once).
    static func open(_ count: Int, to target: PeerAddress) -> SilentFlood {
        var descriptors: [Int32] = []
        for index in 0..<count {
            let source = "127.\(100 + index / 254).\(index % 254 + 1).1"
            guard let fd = LoopbackSocket.connected(to: target, from: source) else { continue }
            descriptors.append(fd)
        }
        return SilentFlood(descriptors: descriptors)
    }

    /// Waits up to `seconds` for the sensor to close the connections; returns how many it closed and how many
    /// are still open then.
    func closedWithin(seconds: Double) -> (closed: Int, open: Int) {
        var open = Set(descriptors)
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 256)
        while !open.isEmpty, Date() < deadline {
            for fd in open {
                let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                    open.remove(fd)
                }
            }
            usleep(100_000)
        }
        return (descriptors.count - open.count, open.count)
    }

    /// Closes every connection.
    func close() {
        for fd in descriptors { Glibc.close(fd) }
    }
}
