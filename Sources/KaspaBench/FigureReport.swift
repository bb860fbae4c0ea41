import Foundation
import Synchronization

/// Collects the figures of a run: each is printed as one line when measured, and all of them again at the end as
/// a Markdown table ready to paste into the README.
final class FigureReport: Sendable {
    /// One measured figure.
    struct Figure: Sendable {
        /// Short id, e.g. `1a`.
        var id: String
        /// What was measured.
        var name: String
        /// The measured value with its unit.
        var value: String
        /// The target, in words (empty: informational).
        var target: String
        /// Whether the target was met (`nil`: no target).
        var met: Bool?
    }

    private let environment: BenchEnvironment
    private let figures = Mutex<[Figure]>([])

    /// A report for a run on `environment`.
    init(environment: BenchEnvironment) {
        self.environment = environment
    }

    /// Records a figure and prints its line.
    func record(_ id: String, _ name: String, _ value: String, target: String = "", met: Bool? = nil) {
        let figure = Figure(id: id, name: name, value: value, target: target, met: met)
        figures.withLock { $0.append(figure) }
        ChildProcesses.printLine("FIGURE \(id) \(name) = \(value)\(Self.verdict(figure)) \(environment.stamp)")
    }

    /// A free-form note line (what a figure depends on, what limits it).
    func note(_ text: String) {
        ChildProcesses.printLine("NOTE \(text)")
    }

    /// Prints the ready-to-paste summary.
    func printSummary() {
        let environment = self.environment
        var lines = [
            "",
            "Benchmarks run \(environment.date), commit \(environment.commit), \(environment.build) build, "
                + "\(environment.cpuModel) (\(environment.cores) cores), load average at start "
                + String(format: "%.2f", environment.loadAverage)
                + (environment.loadAverage > 0.5 ? " (the machine was shared with other work)" : "") + ".",
            "",
            "| # | Figure | Measured | Target | Met |",
            "|---|--------|----------|--------|-----|",
        ]
        for figure in figures.withLock({ $0 }) {
            let met = figure.met.map { $0 ? "yes" : "**no**" } ?? ""
            lines.append("| \(figure.id) | \(figure.name) | \(figure.value) | \(figure.target) | \(met) |")
        }
        ChildProcesses.printLine(lines.joined(separator: "\n"))
    }

    private static func verdict(_ figure: Figure) -> String {
        guard let met = figure.met else { return "" }
        return " target=\"\(figure.target)\" \(met ? "MET" : "MISSED")"
    }
}
