import Foundation
import KaspaP2P

/// This executable started again as `kaspa-bench baseline-server` (see ``BaselineServer``), in its own process.
final class BaselineProcess {
    /// Where it listens.
    let address: PeerAddress
    private let process: Process

    /// Starts the baseline server on `stack` and waits for its `LISTENING <port>` line.
    init(stack: BaselineStack = .grpcSwift) async throws {
        process = Process()
        process.executableURL = ChildProcesses.ownExecutable
        process.arguments = ["baseline-server", "--stack", stack.rawValue]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let handle = output.fileHandleForReading
        let line = await Task.detached {
            var bytes: [UInt8] = []
            while let byte = try? handle.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") {
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }.value
        guard line.hasPrefix("LISTENING "), let port = UInt16(line.dropFirst(10)) else {
            throw ChildProcesses.StartFailure(description: "baseline server said \"\(line)\"")
        }
        address = PeerAddress("127.0.0.1:\(port)")!
    }

    /// The process id.
    var pid: Int32 { process.processIdentifier }

    /// Resident memory now, in bytes.
    var residentBytes: Int { ChildProcesses.residentBytes(of: process.processIdentifier) }

    /// Stops it.
    func stop() async {
        await ChildProcesses.terminate(process)
    }
}
