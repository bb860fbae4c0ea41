/// Latency samples in seconds and their percentiles (sorted once, nearest-rank).
struct LatencySamples: Sendable {
    private(set) var seconds: [Double] = []

    /// Adds one sample.
    mutating func add(_ duration: Duration) {
        seconds.append(duration.seconds)
    }

    /// Adds every sample of `other`.
    mutating func merge(_ other: LatencySamples) {
        seconds += other.seconds
    }

    /// The number of samples.
    var count: Int { seconds.count }

    /// The `fraction` percentile (0...1) in milliseconds, 0 without samples.
    func percentileMilliseconds(_ fraction: Double) -> Double {
        guard !seconds.isEmpty else { return 0 }
        let sorted = seconds.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)] * 1000
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
