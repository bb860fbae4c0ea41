import Foundation
public import Logging
import Synchronization

/// Writes gossip to the ``AddressStore`` on its own thread through a bounded queue, so NIO event loops and the
/// cooperative pool never wait for SQLite. When the queue is full, sightings are dropped and counted.
///
/// At shutdown it writes what is queued until the deadline ``close(within:)`` gives; what is left then goes to
/// the spill file beside the database (``AddressSpill``) and is stored first at the next start, so neither a
/// backlog nor SIGTERM loses gossip.
public final class AddressRecorder: Sendable {
    private struct State {
        var queue: [AddressSighting] = []
        var closing = false
        var closeDeadline: ContinuousClock.Instant?
        var finished = false
        var dropped = 0
        var stored = 0
        var spilled = 0
        /// Sightings at the head of the queue that came from the spill file; it is deleted once they are stored.
        var fromSpill = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Sightings written in one transaction at most, so that the close deadline is checked often.
    static let chunk = 64

    /// Sightings (Addresses messages) waiting at most.
    public let capacity: Int
    private let state = Mutex(State())
    private let wake = NSCondition()
    private let logger: Logger
    private let spillPath: String

    /// Opens the store at `path` (errors surface here, at startup), queues what the last shutdown spilled, and
    /// starts the writer thread.
    public init(path: String, capacity: Int = 1024, logger: Logger) throws(SQLiteError) {
        self.capacity = capacity
        self.logger = logger
        spillPath = AddressSpill.path(for: path)
        let store = UncheckedStore(store: try AddressStore(path: path))
        let (spilled, unreadable) = AddressSpill.read(spillPath)
        if !spilled.isEmpty || unreadable > 0 {
            logger.notice(
                "storing the gossip the last shutdown left",
                metadata: ["file": "\(spillPath)", "sightings": "\(spilled.count)", "unreadable": "\(unreadable)"])
            state.withLock {
                $0.queue = spilled
                $0.fromSpill = spilled.count
            }
        }
        let thread = Thread { [self] in self.writeLoop(store.store) }
        thread.name = "address-recorder"
        thread.start()
    }

    /// Queues a sighting; returns false (and counts a drop) when the queue is full or the recorder is closed.
    @discardableResult
    public func submit(_ sighting: AddressSighting) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.closing, state.queue.count < capacity else {
                state.dropped += 1
                return false
            }
            state.queue.append(sighting)
            return true
        }
        if accepted { signal() }
        return accepted
    }

    /// Sightings dropped because the queue was full.
    public var droppedCount: Int { state.withLock { $0.dropped } }
    /// Sightings left for the next start because the close deadline passed.
    public var spilledCount: Int { state.withLock { $0.spilled } }
    /// Address rows written so far.
    public var storedCount: Int { state.withLock { $0.stored } }

    /// Waits until everything queued before the call is written.
    public func flush() async {
        while state.withLock({ !$0.queue.isEmpty && !$0.finished }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Stops accepting sightings, writes what is queued (what is still queued after `deadline` goes to the spill
    /// file) and ends the thread.
    public func close(within deadline: Duration = .seconds(3600)) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                state.closing = true
                state.closeDeadline = state.closeDeadline ?? .now + deadline
                if state.finished { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
            signal()
        }
    }

    private func signal() {
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    private func writeLoop(_ store: AddressStore) {
        while true {
            let (batch, closing, overdue) = state.withLock { state in
                let overdue = state.closeDeadline.map { ContinuousClock.now >= $0 } ?? false
                let count = overdue ? state.queue.count : min(state.queue.count, Self.chunk)
                defer { state.queue.removeFirst(count) }
                return (Array(state.queue.prefix(count)), state.closing, overdue)
            }
            if overdue, !batch.isEmpty {
                spill(batch)
                break
            }
            if !batch.isEmpty {
                do {
                    let stored = try store.record(batch)
                    state.withLock { $0.stored += stored }
                } catch {
                    logger.error("cannot store gossiped addresses", metadata: ["error": "\(error)"])
                }
                spillStored(batch.count)
            } else if closing {
                break
            } else {
                wake.lock()
                if state.withLock({ $0.queue.isEmpty && !$0.closing }) {
                    _ = wake.wait(until: Date().addingTimeInterval(1))
                }
                wake.unlock()
            }
        }
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// The close deadline passed with `batch` still queued: it goes to the spill file.
    private func spill(_ batch: [AddressSighting]) {
        do {
            // The whole backlog replaces the file: spilled sightings stored since the start are not in it again.
            try AddressSpill.write(batch, to: spillPath)
            state.withLock { $0.fromSpill = 0 }
            state.withLock { $0.spilled += batch.count }
            logger.warning(
                "the address writer's backlog is kept for the next start",
                metadata: ["file": "\(spillPath)", "sightings": "\(batch.count)"])
        } catch {
            logger.error(
                "cannot keep the address writer's backlog; it is lost",
                metadata: ["file": "\(spillPath)", "sightings": "\(batch.count)", "error": "\(error)"])
        }
    }

    /// `count` sightings from the head of the queue were stored: once every spilled one is, the file goes.
    private func spillStored(_ count: Int) {
        let done = state.withLock { state -> Bool in
            guard state.fromSpill > 0 else { return false }
            state.fromSpill = max(0, state.fromSpill - count)
            return state.fromSpill == 0
        }
        if done { try? FileManager.default.removeItem(atPath: spillPath) }
    }
}

/// Hands the store to the writer thread, its only user from then on.
private struct UncheckedStore: @unchecked Sendable {
    let store: AddressStore
}
