import Foundation
import NIOPosix

/// `kaspa-bench`: measures the sensor on loopback (handshakes per second against a bare grpc-swift-2 baseline,
/// idle peers and memory per peer, the event pipeline, probe fan-out) and prints each figure as one line with the
/// machine, build and date, then a Markdown summary. `scripts/bench.sh` builds release and runs it.
@main
enum KaspaBench {
    static func main() async {
        let options: BenchOptions
        do {
            options = try BenchOptions(Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("kaspa-bench: \(error)\n".utf8))
            exit(64)
        }
        do {
            if options.baselineServer {
                try await options.baselineStack.run()
                return
            }
            if options.churn {
                try await BenchRun(options: options).churn()
                return
            }
            if options.hold {
                try await BenchRun(options: options).hold()
                return
            }
            try await BenchRun(options: options).run()
        } catch {
            FileHandle.standardError.write(Data("kaspa-bench: \(error)\n".utf8))
            exit(1)
        }
    }
}
