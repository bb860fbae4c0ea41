import Foundation
import SensorEvents
import TestSupport
import Testing

@Suite("HTTP export and Firebase export in one process (the shared code linked into two .so files)")
struct BothExportsTests {
    @Test("Both plugins load into one dispatcher and both deliver every event")
    func bothDeliver() async throws {
        let fake = try FakeFirebase()
        defer { fake.stop() }
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        receiver.script([.status(500)])
        fake.script([.status(503)])
        let endpoint = "\"http://127.0.0.1:\(receiver.port)/ingest\""
        let http = SinkSetup.Sink(
            name: "http", library: "libHTTPExport.so",
            config: SinkSetup.fastExportDelivery.merging(["endpoint": endpoint]) { $1 })
        let setup = try FirebaseSetup([http, FirebaseSetup.firebase(fake, target: "firestore")])
        let dispatcher = try await setup.start()
        let events = FirebaseSetup.events(150)
        events.forEach(dispatcher.publish)
        let ids = Set(events.map(\.id))
        #expect(try await eventually { Set(receiver.deliveredIDs) == ids })
        #expect(try await eventually { Set(fake.documents.keys.map { String($0.split(separator: "/").last!) }) == ids })
        await dispatcher.shutdown()
        #expect(setup.hostCounter(SinkMetricNames.delivered, sink: "http") == 150)
        #expect(setup.hostCounter(SinkMetricNames.delivered, sink: "firebase") == 150)
        #expect(
            setup.hostCounter(SinkMetricNames.retries, sink: "http") >= 1
                && setup.hostCounter(SinkMetricNames.retries, sink: "firebase") >= 1)
        // Each instance logs under its own plugin's prefix: the two copies of the shared code did not share state.
        #expect(!setup.logs.records(containing: "http export: delivering to http://127.0.0.1", sink: "http").isEmpty)
        #expect(!setup.logs.records(containing: "firebase export: delivering to", sink: "firebase").isEmpty)
        #expect(setup.logs.records(containing: "firebase export:", sink: "http").isEmpty)
    }

    @Test(
        "Each bundled Swift plugin exports one function, sensor_plugin_query_v1: the shared code cannot interpose",
        arguments: ["libHTTPExport.so", "libFirebaseExport.so", "libSQLiteSink.so"])
    func exportsOnlyTheEntryPoint(library: String) throws {
        let symbols = try ExternalTool.run(["nm", "-D", "--defined-only", BuiltPlugins.path(of: library)])
        let functions = symbols.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: " ")
            return parts.count == 3 && (parts[1] == "T" || parts[1] == "W") ? String(parts[2]) : nil
        }
        #expect(functions == ["sensor_plugin_query_v1"])
    }
}
