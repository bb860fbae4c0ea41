/// The command line of `kaspa-bench`: `[baseline-server [--stack STACK]] [--figures 1,2,3,4,5] [--peers N]
/// [--seconds S] [--events N] [--pipeline a,b,c] [--probes N] [--concurrency N]`, or `churn --target HOST:PORT --sessions N`
/// and `hold --target HOST:PORT --peers N --seconds S` (short or idle sessions against a running sensor, e.g. one
/// started under a heap profiler).
struct BenchOptions {
    /// Run the baseline server instead of the benchmark (the benchmark starts itself this way).
    var baselineServer = false
    /// `churn`: only run short sessions against `--target`.
    var churn = false
    /// `hold`: only open `--peers` idle sessions against `--target` and keep them for `--seconds`.
    var hold = false
    /// The sensor `churn` dials.
    var target: String?
    /// Sessions `churn` runs.
    var sessions = 10_000
    /// Which baseline server (`--stack`).
    var baselineStack = BaselineStack.grpcSwift
    /// Which figures to measure.
    var figures: Set<Int> = [1, 2, 3, 4, 5]
    /// Idle peers to hold (figure 2).
    var peers = 10_000
    /// Seconds each handshake measurement lasts (figure 1).
    var seconds = 10
    /// Simulated peers in flight at once (figure 1).
    var concurrency = 32
    /// Events per pipeline measurement (figure 3).
    var events = 200_000
    /// Which parts of figure 3 to measure (`a` SQLiteSink, `b` HTTPExport, `c` the ceiling, `d` PostgresSink):
    /// one part alone, to profile it or to repeat it back to back.
    var pipelineParts: Set<Character> = ["a", "b", "c", "d"]
    /// Simultaneous probes (figure 4).
    var probes = 1_000

    /// A command-line error.
    struct UsageError: Error, CustomStringConvertible {
        /// What is wrong.
        var description: String
    }

    /// Parses `arguments` (without the program name).
    init(_ arguments: [String]) throws(UsageError) {
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            if argument == "baseline-server" {
                baselineServer = true
                continue
            }
            if argument == "churn" {
                churn = true
                continue
            }
            if argument == "hold" {
                hold = true
                continue
            }
            guard let value = remaining.popFirst() else { throw UsageError(description: "\(argument) needs a value") }
            switch argument {
            case "--figures": figures = Set(value.split(separator: ",").compactMap { Int($0) })
            case "--peers": peers = try Self.number(value, argument)
            case "--seconds": seconds = try Self.number(value, argument)
            case "--concurrency": concurrency = try Self.number(value, argument)
            case "--events": events = try Self.number(value, argument)
            case "--probes": probes = try Self.number(value, argument)
            case "--pipeline":
                pipelineParts = Set(value.filter { "abcd".contains($0) })
                guard !pipelineParts.isEmpty else { throw UsageError(description: "--pipeline takes a, b, c and/or d") }
            case "--sessions": sessions = try Self.number(value, argument)
            case "--target": target = value
            case "--stack":
                guard let stack = BaselineStack(rawValue: value) else {
                    let known = BaselineStack.allCases.map(\.rawValue).joined(separator: ", ")
                    throw UsageError(description: "--stack must be one of \(known), got \(value)")
                }
                baselineStack = stack
            default: throw UsageError(description: "unknown option \(argument)")
            }
        }
    }

    private static func number(_ text: String, _ option: String) throws(UsageError) -> Int {
        guard let number = Int(text), number > 0 else {
            throw UsageError(description: "\(option) needs a positive number, got \(text)")
        }
        return number
    }
}
