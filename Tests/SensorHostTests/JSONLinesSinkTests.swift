import Foundation
import SensorPluginAPI
import Testing

/// The packaged JSON-lines sink called directly through its C ABI: configuration checks, what it writes, and how
/// it reports a full disk.
@Suite("The JSON-lines sink through its C ABI")
struct JSONLinesSinkTests {
    static func caller() throws -> PluginCaller {
        try PluginCaller(library: try ExternalPlugin.packaged("libJSONLinesSink.so"))
    }

    @Test("The packaged library needs libc alone and exports sensor_plugin_query_v1 alone")
    func dependenciesAndExports() throws {
        let library = try ExternalPlugin.packaged("libJSONLinesSink.so")
        let needed = try ExternalPlugin.run(["readelf", "-d", library]).split(separator: "\n")
            .filter { $0.contains("(NEEDED)") }
        #expect(needed.count == 1 && needed[0].contains("[libc.so.6]"), "\(needed)")
        // Code symbols only: linkers may add __bss_start, _edata and _end (data markers) to any shared object.
        let symbols: [[Substring]] = try ExternalPlugin.run(["nm", "-D", "--defined-only", library])
            .split(separator: "\n").map { $0.split(separator: " ") }
        let functions = symbols.filter { $0.count == 3 && $0[1] != "D" && $0[1] != "B" }.map { String($0[2]) }
        #expect(functions == ["sensor_plugin_query_v1"])
    }

    /// Configurations create() must refuse, and what its log line must say.
    static let badConfigurations: [(json: String, reason: String)] = [
        (#"{"_config_dir":"/tmp","path":"x.jsonl","colour":"blue"}"#, #"unknown key "colour""#),
        (#"{"fsync":"sometimes","path":"/tmp/x.jsonl"}"#, #""fsync" must be "batch" or "none""#),
        (#"{"_config_dir":"/tmp","_sink_name":"jsonl"}"#, #""path" is required"#),
        (#"{"path":3}"#, #""path" must be a string"#),
        (#"{"path":"/tmp/a","path":"/tmp/b"}"#, #"duplicate key "path""#),
        (#"{"path":"relative.jsonl"}"#, #"needs the host's absolute "_config_dir""#),
        (#"{"path":"/tmp/x"} {}"#, "unexpected text after"),
        (#"{"path":"/tmp/x",}"#, "bad key in member 2"),
        (#"{"path":"/tmp/\ud800"}"#, "unpaired surrogate"),
        (#"{"path":"/tmp/x\q"}"#, "unknown escape"),
        (#"{"path":"/tmp/x"#, "unterminated string"),
        ("[]", "not a JSON object"),
        (#"{"path":"/no-such-folder/x/events.jsonl"}"#, "cannot open /no-such-folder/x/events.jsonl"),
    ]

    @Test("create() rejects a bad configuration with SENSOR_BAD_CONFIG and logs why", arguments: badConfigurations)
    func badConfiguration(json: String, reason: String) throws {
        let caller = try Self.caller()
        let (status, instance) = caller.create(json)
        #expect(status == SENSOR_BAD_CONFIG)
        #expect(instance == nil)
        #expect(caller.logLines.contains { $0.contains(reason) }, "\(caller.logLines) should say \(reason)")
    }

    @Test("A configuration larger than the bound is refused without being parsed")
    func oversizedConfiguration() throws {
        let caller = try Self.caller()
        let json = #"{"path":"/tmp/x","_pad":""# + String(repeating: "a", count: 70_000) + #""}"#
        #expect(caller.create(json).status == SENSOR_BAD_CONFIG)
        #expect(caller.logLines.contains { $0.contains("larger than 65536 bytes") })
    }

    @Test("Each event's JSON becomes one line; the file is appended to, never truncated")
    func appendsLines() throws {
        let scratch = try ExternalPlugin.makeTemporaryDirectory()
        defer { ExternalPlugin.remove(scratch) }
        // A \u escape in the path is decoded (é), and the relative path lands in _config_dir.
        let config = #"{"_config_dir":"\#(scratch)","_sink_name":"jsonl","fsync":"none","path":"caf\u00e9.jsonl"}"#
        let big = #"{"blob":""# + String(repeating: "x", count: 200_000) + #""}"#
        for run in 0..<2 {
            let caller = try Self.caller()
            let (status, instance) = caller.create(config)
            try #require(status == SENSOR_OK, "\(caller.logLines)")
            // Raw line breaks in an event's JSON (whitespace between tokens) must not split its line.
            let events = [#"{"run":\#(run),"n":1}"#, "{\n\"run\": \(run),\r\n\"n\": 2}"]
            #expect(caller.write(instance, events) == SENSOR_OK)
            #expect(caller.write(instance, [big]) == SENSOR_OK)
            #expect(caller.flushAndDestroy(instance) == SENSOR_OK)
        }
        let lines = try ExternalPlugin.jsonLines(at: scratch + "/café.jsonl")
        #expect(lines.count == 6)
        #expect(lines.map { $0["run"] as? Int } == [0, 0, nil, 1, 1, nil])
        #expect(lines.map { $0["n"] as? Int } == [1, 2, nil, 1, 2, nil])
        #expect((lines[2]["blob"] as? String)?.count == 200_000)
    }

    @Test("A full disk (ENOSPC) asks the host to retry the batch, and to wait 5 s first (retry_after)")
    func fullDiskRetries() throws {
        try #require(FileManager.default.fileExists(atPath: "/dev/full"))
        let caller = try Self.caller()
        let (status, instance) = caller.create(#"{"path":"/dev/full"}"#)
        try #require(status == SENSOR_OK, "\(caller.logLines)")
        #expect(caller.write(instance, [#"{"n":1}"#]) == SENSOR_RETRY)
        #expect(caller.logLines.contains { $0.contains("cannot append to /dev/full") && $0.contains("will retry") })
        #expect(caller.retryAfters == [5000])
        #expect(caller.refusals.isEmpty)
        #expect(caller.flushAndDestroy(instance) == SENSOR_OK)
    }

    @Test("An event without JSON is refused alone through reject_event; the others are written")
    func eventWithoutJSONIsRefused() throws {
        let scratch = try ExternalPlugin.makeTemporaryDirectory()
        defer { ExternalPlugin.remove(scratch) }
        let caller = try Self.caller()
        let (status, instance) = caller.create(#"{"path":"\#(scratch)/events.jsonl","fsync":"none"}"#)
        try #require(status == SENSOR_OK, "\(caller.logLines)")
        #expect(caller.write(instance, [#"{"n":1}"#, "", #"{"n":3}"#]) == SENSOR_OK)
        #expect(caller.flushAndDestroy(instance) == SENSOR_OK)
        #expect(try ExternalPlugin.jsonLines(at: scratch + "/events.jsonl").map { $0["n"] as? Int } == [1, 3])
        try #require(caller.refusals.count == 1)
        #expect(caller.refusals[0].position == 1 && caller.refusals[0].code == 0)
        #expect(caller.refusals[0].reason == "the event has no JSON to write")
    }
}
