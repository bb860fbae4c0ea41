import ArgumentParser
import SensorEvents
import SensorHost

/// Validates sensor.toml and plugins.toml without starting anything.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check sensor.toml and plugins.toml and print the sinks that would run."
    )

    @Option(
        name: [.short, .customLong("config")], help: "The sensor.toml to read (default: ./sensor.toml if present).")
    var config: String?

    func run() async throws {
        let loaded = try loadConfiguration(file: config, sensorID: nil)
        let sinks: [SinkConfiguration]
        do {
            sinks = try SinkPlan.sinks(for: loaded)
        } catch {
            throw ValidationError(error.description)
        }
        print("configuration ok: \(loaded.file ?? "defaults")")
        for warning in loaded.warnings {
            print("warning: \(warning)")
        }
        print(
            "sensor_id \(loaded.configuration.sensor.sensorID), network \(loaded.configuration.network.networkType.wireName)"
        )
        for sink in sinks {
            print("sink \(sink.name): \(sink.library) (\(sink.isEnabled ? "enabled" : "disabled"))")
        }
    }
}
