import Foundation
import FuzzTargets
import KaspaP2P
import SensorEvents
import SensorHost
import TestSupport
import Testing

/// The committed fuzzing corpus (Fuzz/corpus, grown by scripts/fuzz.sh outside CI) replayed through the same
/// entry points as the libFuzzer harnesses, without sanitizers: an input that once covered new code keeps being
/// checked, and a change that breaks one of the harnesses' properties fails here, naming the file.
@Suite("Fuzzing corpus replay")
struct FuzzCorpusTests {
    static let corpus = ExternalPlugin.repositoryRoot.appendingPathComponent("Fuzz/corpus")

    /// The files of one harness's corpus, in a stable order.
    static func inputs(_ harness: String) throws -> [URL] {
        let folder = corpus.appendingPathComponent(harness)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return names.map { folder.appendingPathComponent($0) }
    }

    @Test("Every input of a Swift harness's corpus passes its checks", arguments: FuzzTarget.allCases)
    func replay(target: FuzzTarget) throws {
        let inputs = try Self.inputs(target.rawValue)
        #expect(!inputs.isEmpty, "no corpus for \(target.rawValue)")
        for file in inputs {
            do {
                try target.run(Array(try Data(contentsOf: file)))
            } catch {
                Issue.record("\(target.rawValue)/\(file.lastPathComponent): \(error)")
            }
        }
    }

    @Test("Every input of the jsonl_config.c corpus passes its checks (built with the C compiler, no libFuzzer)")
    func replayJSONLinesConfiguration() throws {
        let inputs = try Self.inputs("jsonl-config")
        #expect(!inputs.isEmpty)
        let directory = try ExternalPlugin.makeTemporaryDirectory()
        defer { ExternalPlugin.remove(directory) }
        let root = ExternalPlugin.repositoryRoot
        let replay = (directory as NSString).appendingPathComponent("replay-jsonl-config")
        _ = try ExternalPlugin.run(
            [
                ProcessInfo.processInfo.environment["CC"] ?? "clang", "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror",
                "-I", root.appendingPathComponent("Sources/Plugins/JSONLinesSink").path, "-o", replay,
                root.appendingPathComponent("Fuzz/jsonl_config_fuzz.c").path,
                root.appendingPathComponent("Fuzz/replay_main.c").path,
                root.appendingPathComponent("Sources/Plugins/JSONLinesSink/jsonl_config.c").path,
            ])
        // The replay names each file on stderr before running it: on failure the last name is the input.
        try ExternalTool.run([replay] + inputs.map(\.path))
    }

    // MARK: - Regressions: inputs that broke a harness's checks

    /// A 257-byte user agent whose 256th byte starts a two-byte character: the cut used to decode the cut-off lead
    /// byte as U+FFFD (3 bytes), keeping 258 bytes, over the documented 256-byte cap. Found by the messages
    /// harness's cap check; the input is the Version envelope it was given.
    @Test("Regression: a user agent cut inside a character stays within 256 bytes")
    func userAgentCutInsideCharacter() throws {
        let agent = "a" + String(repeating: "é", count: 150)
        let message = KaspaMessage.with { envelope in
            envelope.version = .with {
                $0.id = .init([UInt8](repeating: 0, count: 16))
                $0.userAgent = agent
                $0.network = "kaspa-mainnet"
            }
        }
        try FuzzTarget.messages.run(try message.serializedBytes())
        guard case .version(let wire) = message.payload else { throw TestFailure("not a Version") }
        #expect(PeerVersion(wire).userAgent == "a" + String(repeating: "é", count: 127))
        #expect(LocalVersion.userAgent(name: "x", version: "1", comment: agent).utf8.count <= 256)
        guard case .reject(let reject) = KaspaMessage.reject(reason: "a" + String(repeating: "é", count: 1100)).payload
        else { throw TestFailure("not a Reject") }
        #expect(reject.reason.utf8.count == 2047)
    }

    /// `[<ESC>[sink]]`, `[$[sink]]`, `[` alone: a table header whose key starts with a character that cannot start
    /// a key made TOMLKit's parser (toml++) fail an assertion and abort the process, release builds included
    /// (`kaspa-sensor check-config` died with SIGABRT). Found by the plugins-toml harness (after 49 and 1,039
    /// executions); both loaders now check headers and control characters first, naming the line.
    @Test(
        "Regression: a table header that does not start with a key is an error, not an abort",
        arguments: ["[\u{1B}[sink]]", "[$[sink]]", "[", "[[ \u{7F}x]]", "[ [sink]]"])
    func badTableHeader(header: String) throws {
        let text = "# comment\n\(header)\nname = \"x\"\n"
        let error = try Self.refusedByBothLoaders(text)
        #expect(error?.reason.hasPrefix("not valid TOML at line 2, column ") == true, "\(String(describing: error))")
        let path = NSTemporaryDirectory() + "sensor-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(file: path, environment: [:]) }
    }

    /// The same assertion after a byte order mark (`<BOM>[#`), which the parser skips: found by the plugins-toml
    /// harness after 20,360 more executions.
    @Test("Regression: a bad table header right after a byte order mark is an error, not an abort")
    func badTableHeaderAfterByteOrderMark() throws {
        _ = try Self.refusedByBothLoaders("\u{FEFF}[#")
    }

    /// `key = [ }` and the like: a `}` where an array value is expected made toml++ fail another assertion
    /// (`!is_value_terminator(*cp)` in `parse_value`) and abort. Found by the optimised plugins-toml harness after
    /// 596,602 executions (`CCC…C=[}}s]`).
    @Test(
        "Regression: a '}' inside an array is an error, not an abort",
        arguments: [
            "a=[}]", "a = [ \"x\", } ]", "a=[[}]]", "a={b=[}]}", "a = [\n  # c\n  }\n]",
            "\(String(repeating: "C", count: 95))=[}}s]",
        ])
    func closingBraceInArray(line: String) throws {
        let error = try Self.refusedByBothLoaders(
            "[[sink]]\nname = \"x\"\nlibrary = \"x.so\"\n[sink.config]\n\(line)\n")
        #expect(error?.reason.contains("'}' inside an array") == true, "\(String(describing: error))")
    }

    /// Runs `text` through both TOML harnesses (no abort, their checks hold) and expects plugins.toml's loader to
    /// refuse it; returns the error.
    private static func refusedByBothLoaders(_ text: String) throws -> ConfigurationError? {
        try FuzzTarget.pluginsToml.run(Array(text.utf8))
        try FuzzTarget.sensorToml.run(Array(text.utf8))
        return #expect(throws: ConfigurationError.self) {
            try PluginsFile(parsing: text, file: "plugins.toml", directory: "/tmp")
        }
    }

    @Test("The header check leaves valid documents alone: nested arrays, inline tables, strings, tabs, CRLF")
    func validDocumentsStillLoad() throws {
        let text = [
            "\t[[sink]]\r", "name = \"a\"", "library = \"x.so\"", "[sink.config]", "matrix = [", "  [ [1] ],",
            "  [{ a = 1 }],", "  { b = [1, { c = 2 }] },", "]", "text = \"\"\"", "[$ not a header", "\"\"\"",
            "literal = '''", "[ [ neither", "'''",
            "",
        ].joined(separator: "\n")
        let file = try PluginsFile(parsing: text, file: "plugins.toml", directory: "/tmp")
        #expect(file.sinks.map(\.name) == ["a"])
    }
}
