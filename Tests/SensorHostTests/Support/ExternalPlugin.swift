import Foundation
import TestSupport

/// Builds sink plugins the way an outside author would: `clang -shared -fPIC` against `sensor_plugin.h` alone,
/// outside the package build, into a folder of the test's own.
enum ExternalPlugin {
    /// The repository root, derived from this file's location.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // SensorHostTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// The folder holding `sensor_plugin.h`: the only part of this repository a plugin is compiled against.
    static let headerDirectory = repositoryRoot.appendingPathComponent("Sources/SensorPluginAPI/include").path

    /// The C files of the JSON-lines sink, as they are in the package.
    static func jsonLinesSources() throws -> [String] {
        let folder = repositoryRoot.appendingPathComponent("Sources/Plugins/JSONLinesSink")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".c") }
        guard !files.isEmpty else { throw TestFailure("no C files in \(folder.path)") }
        return files.sorted().map { folder.appendingPathComponent($0).path }
    }

    /// Compiles `sources` into `<directory>/lib<name>.so` with warnings as errors and returns its path.
    static func compile(_ sources: [String], name: String, in directory: String) throws -> String {
        let output = (directory as NSString).appendingPathComponent("lib\(name).so")
        _ = try run(
            [
                ProcessInfo.processInfo.environment["CC"] ?? "clang", "-std=c11", "-shared", "-fPIC",
                "-fvisibility=hidden", "-O1", "-Wall", "-Wextra", "-Werror", "-I", headerDirectory, "-o", output,
            ] + sources)
        return output
    }

    /// Runs a tool found on `PATH` to completion (see ``ExternalTool/run(_:)``).
    static func run(_ arguments: [String]) throws -> String {
        try ExternalTool.run(arguments)
    }

    /// The SwiftPM-built library `file` (e.g. `libJSONLinesSink.so`), next to the test binary where the host finds
    /// a bare `library` name (see ``BuiltPlugins``).
    static func packaged(_ file: String) throws -> String {
        try BuiltPlugins.path(of: file)
    }

    /// A fresh, empty folder; remove it with ``remove(_:)``.
    static func makeTemporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "external-plugin-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Removes a folder made by ``makeTemporaryDirectory()``.
    static func remove(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The JSON objects of a JSON-lines file, one per line; throws if any line is not a JSON object.
    static func jsonLines(at path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard text.isEmpty || text.hasSuffix("\n") else { throw TestFailure("\(path) ends mid-line") }
        return try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TestFailure("not a JSON object: \(line)")
            }
            return object
        }
    }

    /// The first fenced code block of `language` in the README section whose heading is `heading`.
    static func readmeCodeBlock(under heading: String, language: String) throws -> String {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        guard let section = readme.range(of: "\n\(heading)\n") else { throw TestFailure("no \(heading) in README") }
        let rest = readme[section.upperBound...]
        let end = rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex
        guard let open = rest[..<end].range(of: "```\(language)\n"),
            let close = rest[open.upperBound..<end].range(of: "\n```")
        else { throw TestFailure("no ```\(language) block under \(heading) in README") }
        return String(rest[open.upperBound..<close.lowerBound]) + "\n"
    }
}
