import Foundation
import Testing

/// Paths and scratch folders for tests that load the real `libHTTPExport.so`.
enum TestEnvironment {
    /// Where the SwiftPM-built plugins are: `$SENSOR_PLUGIN_DIR`, else the folder of the test binary.
    static var pluginDirectory: String {
        if let directory = ProcessInfo.processInfo.environment["SENSOR_PLUGIN_DIR"], !directory.isEmpty {
            return directory
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while url.path.contains(".xctest") {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    /// The path of the real `libHTTPExport.so`; records an issue explaining how to build it if it is missing.
    static func httpExportLibrary() throws -> String {
        let path = URL(fileURLWithPath: pluginDirectory).appendingPathComponent("libHTTPExport.so").path
        try #require(
            FileManager.default.fileExists(atPath: path),
            """
            \(path) is missing: `swift test` does not build dynamic library products. Run \
            `swift build --build-tests` first, then `swift test --skip-build`, or set SENSOR_PLUGIN_DIR.
            """
        )
        return path
    }

    /// A fresh, empty scratch folder.
    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("http-export-tests-\(UUID().uuidString.lowercased())", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(5))
    }
    return try condition()
}
