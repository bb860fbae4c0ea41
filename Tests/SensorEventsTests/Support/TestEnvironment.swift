import Foundation
import TestSupport

/// Paths and scratch folders for tests that load real shared libraries.
enum TestEnvironment {
    /// The repository root, derived from this file's location.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // SensorEventsTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// The folder holding `sensor_plugin.h`.
    static let pluginHeaderDirectory = repositoryRoot.appendingPathComponent("Sources/SensorPluginAPI/include").path

    /// Where the SwiftPM-built plugins are (see ``BuiltPlugins/directory``).
    static var pluginDirectory: String { BuiltPlugins.directory }

    /// The path of the real `libSQLiteSink.so`; throws, saying how to build it, if it is missing.
    static func sqliteSinkLibrary() throws -> String {
        try BuiltPlugins.path(of: "libSQLiteSink.so")
    }

    /// A fresh, empty scratch folder.
    static func makeTemporaryDirectory() throws -> URL {
        try BuiltPlugins.makeScratchDirectory(prefix: "sensor-events-tests")
    }
}
