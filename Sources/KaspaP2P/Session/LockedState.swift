import Foundation

/// A value guarded by a lock, for classes whose shared state depends on their generic parameter.
///
/// Used instead of `Synchronization.Mutex` there: with a `Mutex` whose state depended on a class's generic
/// parameter, optimized Swift 6.3 builds on Linux corrupted the heap (release binaries aborted at startup with
/// "double free or corruption" after unrelated changes elsewhere; debug and ASan builds were clean, and replacing
/// those `Mutex`es alone made the same build run). Non-generic `Mutex` uses are unaffected.
package final class LockedState<State>: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var state: State

    /// Guards `initial`.
    package init(_ initial: State) {
        state = initial
    }

    /// Runs `body` on the state with the lock held.
    package func withLock<T>(_ body: (inout State) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }
}
