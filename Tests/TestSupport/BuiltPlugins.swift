public import Foundation

/// The plugin libraries SwiftPM built, for tests that load them with dlopen, and scratch folders for such tests.
public enum BuiltPlugins {
    /// Where the SwiftPM-built plugins are: `$SENSOR_PLUGIN_DIR`, else the folder of the test binary
    /// (`.build/<triple>/debug/`, next to the `.xctest` bundle), where the host also finds bare library names.
    public static var directory: String {
        if let directory = ProcessInfo.processInfo.environment["SENSOR_PLUGIN_DIR"], !directory.isEmpty {
            return directory
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On platforms where the bundle is a directory, the executable sits inside it.
        while url.path.contains(".xctest") {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    /// The path of the built library `file` (e.g. `libSQLiteSink.so`); throws, saying how to build it, if missing.
    public static func path(of file: String) throws -> String {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(file).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingPlugin(path: path)
        }
        return path
    }

    /// A fresh, empty scratch folder whose name starts with `prefix`.
    public static func makeScratchDirectory(prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString.lowercased())", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A plugin library the tests need has not been built.
    public struct MissingPlugin: Error, CustomStringConvertible {
        /// Where it was expected.
        public var path: String

        /// What is missing and how to build it.
        public var description: String {
            "\(path) is missing: `swift test` does not build dynamic library products. Run "
                + "`swift build --build-tests` first, then `swift test --skip-build`, or set SENSOR_PLUGIN_DIR."
        }
    }
}
