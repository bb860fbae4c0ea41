import Foundation
public import Logging
import Synchronization

/// Writes gossip to the ``AddressStore`` on its own thread through a bounded queue, so NIO event loops and the
/// cooperative pool never wait for SQLite. When the queue is full, sightings are dropped and counted.
public final class AddressRecorder: Sendable {
    private struct State {
        var queue: [AddressSighting] = []
        var closing = false
        var finished = false
        var dropped = 0
        var stored = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Sightings (Addresses messages) waiting at most.
    public let capacity: Int
    private let state = Mutex(State())
    private let wake = NSCondition()
    private let logger: Logger

    /// Opens the store at `path` (errors surface here, at startup) and starts the writer thread.
    public init(path: String, capacity: Int = 1024, logger: Logger) throws(SQLiteError) {
        self.capacity = capacity
        self.logger = logger
        let store = UncheckedStore(store: try AddressStore(path: path))
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
    /// Address rows written so far.
    public var storedCount: Int { state.withLock { $0.stored } }

    /// Waits until everything queued before the call is written.
    public func flush() async {
        while state.withLock({ !$0.queue.isEmpty && !$0.finished }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Stops accepting sightings, writes what is queued and ends the thread.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                state.closing = true
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
            let (batch, closing) = state.withLock { state in
                defer { state.queue.removeAll(keepingCapacity: true) }
                return (state.queue, state.closing)
            }
            if !batch.isEmpty {
                do {
                    let stored = try store.record(batch)
                    state.withLock { $0.stored += stored }
                } catch {
                    logger.error("cannot store gossiped addresses", metadata: ["error": "\(error)"])
                }
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
}

/// Hands the store to the writer thread, its only user from then on.
private struct UncheckedStore: @unchecked Sendable {
    let store: AddressStore
}
