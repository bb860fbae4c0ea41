import Synchronization

/// Set once to stop the delivery thread; also aborts a request in flight (via libcurl's progress callback).
package final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    /// Whether ``set()`` was called.
    package var isSet: Bool { flag.load(ordering: .acquiring) }

    /// Creates a flag that is not set.
    package init() {}

    /// Sets the flag.
    package func set() {
        flag.store(true, ordering: .releasing)
    }
}
