import Foundation

/// Starts a ``DeliveryLoop`` on its own joinable POSIX thread (Foundation's `Thread` cannot be joined).
enum DeliveryThread {
    /// Starts `loop.run()` on a new thread `nil` if the thread could not be created.
    static func start(_ loop: DeliveryLoop) -> pthread_t? {
        let context = Unmanaged.passRetained(loop).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { context in
                let loop = Unmanaged<DeliveryLoop>.fromOpaque(context!).takeRetainedValue()
                loop.run()
                return nil
            },
            context
        )
        guard result == 0 else {
            Unmanaged<DeliveryLoop>.fromOpaque(context).release()
            return nil
        }
        return thread
    }
}
