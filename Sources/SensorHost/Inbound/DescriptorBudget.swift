#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How many peer TCP connections the P2P listener may hold so that the process never runs out of file
/// descriptors: a flood of connections would otherwise take the descriptors that `/metrics`, probes, the journal,
/// the sinks and new honest peers need (with none left, accept fails in a loop and the process stops answering).
///
/// The soft `RLIMIT_NOFILE` is first raised to the hard limit; the budget is that limit minus a reserve for
/// everything else the sensor opens: a fixed part (journal segments, SQLite files, plugins, the listeners, log
/// and standard streams), every probe and announcement that may run at once, and the metrics server's
/// connections.
public struct DescriptorBudget: Sendable, Equatable {
    /// The open-file limit in force.
    public var fileLimit: Int
    /// Descriptors kept for everything but peer connections.
    public var reserve: Int
    /// Peer TCP connections allowed at once.
    public var peerConnections: Int

    /// The fixed part of the reserve.
    public static let fixedReserve = 128

    /// The budget for a file limit of `fileLimit` with `dialers` outbound connections (probes, announcements) and
    /// `metricsConnections` at most at once; `configured` (when not 0) lowers it further.
    public init(fileLimit: Int, dialers: Int, metricsConnections: Int, configured: Int = 0) {
        self.fileLimit = fileLimit
        reserve = Self.fixedReserve + dialers + metricsConnections
        let available = max(16, fileLimit - reserve)
        peerConnections = configured > 0 ? min(configured, available) : available
    }

    /// Raises the soft open-file limit to the hard one (capped at 1,048,576) and returns the limit in force.
    public static func raiseFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let wanted = min(limit.rlim_max, 1 << 20)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}
