import ArgumentParser
import Foundation
import SensorHost

/// Writes the files of `--generate-config`.
enum GeneratedConfiguration {
    static func write(into directory: String, force: Bool, sensorID: String?) throws {
        var configuration = SensorConfiguration()
        if let sensorID {
            configuration.sensor.sensorID = sensorID
        }
        let files = [
            ("sensor.toml", ConfigurationTemplate.sensorFile(configuration)),
            ("plugins.toml", ConfigurationTemplate.pluginsFile(databasePath: configuration.database.path)),
        ]
        for (name, text) in files {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path), !force {
                throw ValidationError("\(path) exists; pass --force to overwrite it")
            }
            do {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write \(path): \(error.localizedDescription)")
            }
            print("wrote \(path)")
        }
    }
}
