import Foundation
import TestSupport
import Testing

/// Compiles C test plugins into shared libraries at test time, against the real `sensor_plugin.h`.
enum CPluginCompiler {
    /// The compiler failed; `description` holds its diagnostics.
    struct CompileError: Error, CustomStringConvertible {
        /// What the compiler said.
        let description: String
    }

    /// Compiles `source` with `defines` into `<directory>/<name>.so` and returns its path.
    static func compile(
        _ source: String,
        name: String,
        defines: [String] = [],
        in directory: URL
    ) throws -> String {
        let sourceURL = directory.appendingPathComponent("\(name).c")
        let output = directory.appendingPathComponent("\(name).so").path
        try source.write(to: sourceURL, atomically: true, encoding: .utf8)
        let compiler = ProcessInfo.processInfo.environment["CC"] ?? "clang"
        do {
            try ExternalTool.run(
                [compiler, "-std=c11", "-shared", "-fPIC", "-O1", "-Wall", "-Werror"]
                    + defines.map { "-D\($0)" }
                    + ["-I", TestEnvironment.pluginHeaderDirectory, "-o", output, sourceURL.path, "-lpthread"])
        } catch {
            throw CompileError(description: "compiling \(name) failed: \(error)")
        }
        return output
    }
}
