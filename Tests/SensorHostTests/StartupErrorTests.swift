import Foundation
import Logging
import SensorHost
import Testing

@Suite("Startup errors")
struct StartupErrorTests {
    @Test("A P2P port in use stops the sensor with the address, the key and the system's reason")
    func portInUse() async throws {
        try await SensorHarness.withSensor(["metrics": ["enabled": "false"]]) { first in
            let file = NSTemporaryDirectory() + "second-\(UUID().uuidString).toml"
            try "[network]\nlisten_address = \"\(first.p2p)\"\n[metrics]\nenabled = false\n[probing]\nenabled = false"
                .write(toFile: file, atomically: true, encoding: .utf8)
            var logger = Logger(label: "second")
            logger.logLevel = .critical
            let second = try await SensorApplication(
                loaded: try ConfigurationLoader.load(file: file, environment: [:]),
                logger: logger
            )
            await #expect {
                try await second.makeServiceGroup(gracefulShutdownSignals: []).run()
            } throws: { error in
                let text = String(describing: error)
                return error is ListenError && text.contains(first.p2p.description)
                    && text.contains("[network] listen_address") && text.contains("Address already in use")
            }
        }
    }
}
