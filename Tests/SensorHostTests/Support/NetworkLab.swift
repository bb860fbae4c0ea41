import Foundation
import TestSupport

/// The network-namespace lab of `Tests/lab/netlab.sh`: a small "internet" on documentation prefixes with NAT
/// routers, firewalls and hosts of known reachability, built and torn down by the test that uses it.
struct NetworkLab: Sendable {
    /// The lab's script.
    static let script: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent("lab/netlab.sh").path
    }()

    /// Why the lab cannot run on this machine, or `nil`: it needs root, `ip`, `iptables` and `ip6tables`.
    static var unavailableReason: String? {
        guard getuid() == 0 else { return "the network-namespace lab needs root" }
        for tool in ["ip", "iptables", "ip6tables"] where !Self.onPath(tool) {
            return "the network-namespace lab needs \(tool) (scripts/setup.sh installs iptables)"
        }
        return nil
    }

    /// The namespaces' prefix (`PREFIX-<host>`).
    let prefix: String

    /// Builds the lab under a fresh prefix (removing a leftover of the same name first).
    static func up() async throws -> NetworkLab {
        let lab = NetworkLab(prefix: "kl" + String(UInt32.random(in: 0..<UInt32.max), radix: 36))
        _ = try await lab.run(["down", lab.prefix])
        let built = try await lab.run(["up", lab.prefix], limit: .seconds(60))
        guard built.status == 0 else {
            _ = try? await lab.run(["down", lab.prefix])
            throw TestFailure("netlab.sh up failed:\n\(built.output)\n\(built.errors)")
        }
        return lab
    }

    /// Deletes every namespace of the lab (and whatever still runs inside).
    func down() async {
        _ = try? await run(["down", prefix], limit: .seconds(60))
    }

    /// Starts `command` in `host`'s namespace.
    func start(_ host: String, _ command: [String]) throws -> CommandProcess {
        try CommandProcess(
            executable: "/usr/bin/env", arguments: ["ip", "netns", "exec", "\(prefix)-\(host)"] + command)
    }

    /// TCP SYNs that reached `host` since the lab was built.
    func synCount(_ host: String) async throws -> Int {
        let counted = try await run(["syn-count", prefix, host])
        guard let count = Int(counted.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestFailure("netlab.sh syn-count \(host): \(counted.output) \(counted.errors)")
        }
        return count
    }

    private func run(_ arguments: [String], limit: Duration = .seconds(30)) async throws -> CommandProcess.Finished {
        try await CommandProcess(executable: "/bin/bash", arguments: [Self.script] + arguments).finished(limit: limit)
    }

    private static func onPath(_ tool: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        return (path.split(separator: ":") + ["/usr/sbin", "/sbin"]).contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }
    }
}
