import ArgumentParser
import Foundation
import Logging
import SensorEvents
import SensorHost

/// Runs the sensor (the default command), or writes a commented configuration with `--generate-config`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the sensor until SIGINT or SIGTERM (the default command)."
    )

    @Option(
        name: [.short, .customLong("config")], help: "The sensor.toml to read (default: ./sensor.toml if present).")
    var config: String?

    @Option(name: .customLong("sensor-id"), help: "Overrides [sensor] sensor_id.")
    var sensorID: String?

    @Flag(name: .customLong("generate-config"), help: "Write a commented sensor.toml and plugins.toml, then exit.")
    var generateConfig = false

    @Option(name: .customLong("output-dir"), help: "Where --generate-config writes (default: the current folder).")
    var outputDirectory: String = "."

    @Flag(help: "With --generate-config: overwrite existing files.")
    var force = false

    func run() async throws {
        if generateConfig {
            try GeneratedConfiguration.write(into: outputDirectory, force: force, sensorID: sensorID)
            return
        }
        let loaded = try loadConfiguration(file: config, sensorID: sensorID)
        let logger = makeLogger(level: loaded.configuration.sensor.logLevel)
        for warning in loaded.warnings {
            logger.warning("\(warning)")
        }
        do {
            let application = try await SensorApplication(loaded: loaded, logger: logger)
            try await application.run()
        } catch let error as PluginLoadError {
            throw StartupError(message: "cannot start the sinks: \(error)")
        } catch let error as ConfigurationError {
            throw StartupError(message: error.description)
        } catch let error as ListenError {
            throw StartupError(message: error.description)
        } catch let error as JournalError {
            throw StartupError(message: "\(error) ([plugins] journal_dir)")
        }
    }
}

/// Loads the configuration, turning errors into messages ArgumentParser prints without a stack of types.
func loadConfiguration(file: String?, sensorID: String?) throws -> LoadedConfiguration {
    var file = file
    if file == nil, FileManager.default.fileExists(atPath: "sensor.toml") {
        file = "sensor.toml"
    }
    do {
        return try ConfigurationLoader.load(file: file, sensorID: sensorID)
    } catch {
        throw StartupError(message: error.description)
    }
}

/// Bootstraps swift-log once for the process (the executable is the only place that does).
func makeLogger(level: String) -> Logger {
    let logLevel = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in
        // Peer strings reach the log: control characters in them are escaped, never written raw.
        var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
        handler.logLevel = logLevel
        return handler
    }
    var logger = Logger(label: "kaspa-sensor")
    logger.logLevel = logLevel
    return logger
}

/// A problem that stops the sensor before or while starting; printed as `Error: <message>` (no usage text) and
/// the process exits with status 1.
struct StartupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
