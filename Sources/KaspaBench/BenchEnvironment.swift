import Foundation

/// The machine, build and date every figure line carries, so a pasted figure says where it came from.
struct BenchEnvironment: Sendable {
    /// The CPU model from /proc/cpuinfo.
    var cpuModel: String
    /// Cores the process may use.
    var cores: Int
    /// `release` or `debug`.
    var build: String
    /// The git commit the binary was built from (`KASPA_BENCH_COMMIT`, set by scripts/bench.sh), or `unknown`.
    var commit: String
    /// When the run started (UTC, ISO 8601).
    var date: String
    /// The 1-minute load average when the run started: above about 0.5, other work shared the machine.
    var loadAverage: Double

    /// Reads the current machine.
    static func current() -> BenchEnvironment {
        #if DEBUG
            let build = "debug"
        #else
            let build = "release"
        #endif
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let loadavg = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        let formatter = ISO8601DateFormatter()
        return BenchEnvironment(
            cpuModel: model,
            cores: ProcessInfo.processInfo.activeProcessorCount,
            build: build,
            commit: ProcessInfo.processInfo.environment["KASPA_BENCH_COMMIT"] ?? "unknown",
            date: formatter.string(from: Date()),
            loadAverage: Double(loadavg.split(separator: " ").first ?? "") ?? 0
        )
    }

    /// The suffix of every figure line.
    var stamp: String {
        "machine=\"\(cpuModel), \(cores) cores\" build=\(build) commit=\(commit) date=\(date)"
    }
}
