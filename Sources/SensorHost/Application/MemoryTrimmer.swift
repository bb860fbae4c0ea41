import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Gives memory back to the system after a flood. glibc keeps what a burst of connections freed in its arenas,
/// so a sensor that held 5,000 connections for ten seconds would stay at that size for good; once the number of
/// open connections has fallen below half of its peak (by at least `minimumDrop`), this asks glibc to release the
/// free pages (`malloc_trim`). Checked every `interval`; a trim costs a walk over the arenas, milliseconds.
struct MemoryTrimmer: Service {
    /// The open peer connections now.
    let openConnections: @Sendable () -> Int
    var interval: Duration = .seconds(5)
    var minimumDrop = 256

    /// glibc's `malloc_trim` (declared in `malloc.h`, which the Glibc module does not import), looked up once;
    /// `nil` on a C library without it.
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()

    func run() async throws {
        // Ends at once on graceful shutdown (the sleep is cancelled), not an interval later.
        try? await cancelWhenGracefulShutdown {
            var peak = 0
            while true {
                try await Task.sleep(for: interval)
                let open = openConnections()
                peak = max(peak, open)
                guard peak - open >= minimumDrop, open <= peak / 2 else { continue }
                _ = Self.trim?(0)
                peak = open
            }
        }
    }
}
