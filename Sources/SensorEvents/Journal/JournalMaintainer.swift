import Foundation
import Logging

/// The journal's own thread: whenever a rotation happened it runs ``JournalSegments/maintain(rotated:prepareSpare:)``
/// (close the full segment, name the new one, trim, reserve the next spare), and when the sequence reservation runs
/// low it extends it (``JournalNumbering``), so that publishing never waits for the file system. Started with the
/// journal and joined when it closes.
final class JournalMaintainer: @unchecked Sendable {
    private let segments: JournalSegments
    private let numbering: JournalNumbering
    private let logger: Logger
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var pending = false
    private var reservationPending = false
    private var stopping = false
    // Set once by start(), read by stop(), both on the journal's owner's side.
    private var thread = pthread_t()
    private var started = false

    /// A maintainer of `segments`; call ``start()``. Its first pass (at startup) only reserves the spare.
    init(segments: JournalSegments, numbering: JournalNumbering, logger: Logger) {
        self.segments = segments
        self.numbering = numbering
        self.logger = logger
    }

    /// Starts the thread, which prepares the first spare at once. If no thread can be made, rotations simply
    /// open their segments on the publish path.
    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { context in
                let maintainer = Unmanaged<JournalMaintainer>.fromOpaque(context!).takeRetainedValue()
                maintainer.run()
                return nil
            }, context)
        if result == 0 {
            started = true
        } else {
            Unmanaged<JournalMaintainer>.fromOpaque(context).release()
        }
    }

    /// There is work (a rotation happened): wakes the thread. Cheap: one lock and a signal.
    func wake() {
        lock.withLock {
            pending = true
            lock.signal()
        }
    }

    /// The sequence reservation runs low: wakes the thread to extend it. Appends keep calling this until it has
    /// (a lock and a flag each, for the few appends in between).
    func wakeForReservation() {
        lock.withLock {
            guard !reservationPending else { return }
            reservationPending = true
            lock.signal()
        }
    }

    /// Stops the thread after the work in hand and waits for it.
    func stop() {
        lock.withLock {
            stopping = true
            lock.signal()
        }
        if started {
            pthread_join(thread, nil)
            started = false
        }
    }

    private func run() {
        // The OS thread name too (top, perf, gdb).
        Thread.current.name = "sensor-journal"
        segments.maintain(rotated: false, prepareSpare: true)
        while true {
            let (rotated, reserve, proceed) = lock.withLock { () -> (Bool, Bool, Bool) in
                while !pending && !reservationPending && !stopping {
                    lock.wait(untilMonotonicNanoseconds: nil)
                }
                defer { (pending, reservationPending) = (false, false) }
                return (pending, reservationPending, !stopping)
            }
            guard proceed else { return }
            if reserve {
                do {
                    try numbering.extendReservation()
                } catch {
                    logger.error("event journal: \(error); an append reserves sequence numbers itself")
                }
            }
            if rotated {
                segments.maintain(rotated: true, prepareSpare: true)
            }
        }
    }
}
