import ArgumentParser
import KaspaP2P
import SensorHost

/// Checks a running sensor: handshake, dial-back, stored event (the seed's test_probe.py).
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Connect to a running sensor as a peer and check the handshake, the probe back and the stored event."
    )

    @Option(help: "The sensor's P2P address.")
    var sensor: String = "127.0.0.1:16111"

    @Option(help: "Where to listen for the probe (its IP must be the one we connect from).")
    var listen: String = "127.0.0.1:0"

    @Option(help: "The sensor's SQLite events database, to confirm the event was stored.")
    var database: String?

    @Option(help: "mainnet, testnet-10, devnet or simnet.")
    var network: String = "mainnet"

    @Option(name: .customLong("timeout-ms"), help: "How long each step may take.")
    var timeoutMilliseconds: Int = 10_000

    func run() async throws {
        guard let sensorAddress = PeerAddress(sensor) else {
            throw ValidationError("--sensor: expected IP:PORT, got \(sensor)")
        }
        guard let listenAddress = PeerAddress(listen) else {
            throw ValidationError("--listen: expected IP:PORT, got \(listen)")
        }
        guard let kaspaNetwork = KaspaNetwork(named: network) else {
            throw ValidationError("--network: unknown network \(network)")
        }
        let verifier = ProbeVerifier(
            sensor: sensorAddress,
            listen: listenAddress,
            database: database,
            network: kaspaNetwork,
            timeout: .milliseconds(timeoutMilliseconds)
        )
        let passed = await verifier.run { verdict in print(verdict) }
        print(passed ? "verification passed" : "verification FAILED")
        if !passed { throw ExitCode.failure }
    }
}
