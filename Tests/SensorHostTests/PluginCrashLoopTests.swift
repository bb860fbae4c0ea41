import Foundation
import TestSupport
import Testing

@Suite("A plugin that kills the process in write_batch: found at restart, its batch set aside (real kaspa-sensor)")
struct PluginCrashLoopTests {
    /// A sink that appends each event's `user_agent` to `[sink.config] path`, and calls `abort()` on an event
    /// whose user agent contains `abort-me`: a plugin bug that takes the whole process down.
    static let abortingSink = #"""
        #define _POSIX_C_SOURCE 200809L
        #include "sensor_plugin.h"
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        typedef struct { char path[1024]; } sink;

        static int32_t create(const sensor_host_api *host, sensor_str config, void **out) {
            (void)host;
            const char *key = strstr(config.ptr, "\"path\":\"");
            if (!key) return SENSOR_BAD_CONFIG;
            sink *instance = calloc(1, sizeof(sink));
            sscanf(key + 8, "%1023[^\"]", instance->path);
            *out = instance;
            return SENSOR_OK;
        }

        static int32_t write_batch(void *instance, const sensor_event *const *events, size_t count) {
            sink *self = instance;
            FILE *file = fopen(self->path, "a");
            if (!file) return SENSOR_RETRY;
            for (size_t i = 0; i < count; i++) {
                const sensor_field *agent = sensor_event_field(events[i], "user_agent");
                if (!agent || agent->type != SENSOR_FIELD_TEXT || !agent->text_value.ptr) continue;
                if (strstr(agent->text_value.ptr, "abort-me")) abort();
                fprintf(file, "%s\n", agent->text_value.ptr);
            }
            fclose(file);
            return SENSOR_OK;
        }

        static void destroy(void *instance) { free(instance); }

        static const sensor_plugin descriptor = {
            .struct_size = sizeof(sensor_plugin),
            .magic = SENSOR_PLUGIN_MAGIC,
            .abi_major = SENSOR_ABI_MAJOR,
            .abi_minor = SENSOR_ABI_MINOR,
            .name = "aborting-sink",
            .version = "0.1",
            .built_with = "c",
            .create = create,
            .write_batch = write_batch,
            .destroy = destroy,
        };

        SENSOR_EXPORT const sensor_plugin *sensor_plugin_query_v1(uint16_t major, uint16_t minor) {
            (void)minor;
            return major == SENSOR_ABI_MAJOR ? &descriptor : NULL;
        }
        """#

    /// A crash must end the child at once, not in Swift's backtracer.
    private static let environment = ["SWIFT_BACKTRACE": "enable=no"]

    @Test(
        """
        A sink that aborts on one event takes the sensor down three times; the fourth start dead-letters that \
        batch, and the sink goes on with new events
        """)
    func crashLoopEnds() async throws {
        let directory = try BuiltPlugins.makeScratchDirectory(prefix: "plugin-crash-loop")
        let source = directory.appendingPathComponent("aborting_sink.c")
        try Self.abortingSink.write(to: source, atomically: true, encoding: .utf8)
        let library = try ExternalPlugin.compile([source.path], name: "AbortingSink", in: directory.path)
        let delivered = directory.appendingPathComponent("delivered.txt")
        var files = SensorConfigurationFiles(
            sensorID: "crash-loop", sinkLibrary: library, sinkConfig: ["path": "\"\(delivered.path)\""])
        files.set("session", "linger_ms", "0")
        files.set("session", "address_wait_ms", "200")
        files.set("plugins", "dead_letter_dir", "\"dead-letters\"")
        files.sinkHost = ["batch_max": "20", "flush_interval_ms": "20"]
        let configuration = try files.write(in: directory)
        let agents: @Sendable () -> [String] = {
            ((try? String(contentsOf: delivered, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        let first = try await SensorProcess(configuration: configuration, environment: Self.environment)
        try await HandshakingPeer.connect("/ok-before/", to: first.p2p)
        #expect(try await eventually { agents().contains("/ok-before/") })
        // The sensor may die before the peer has finished; only the event matters.
        try? await HandshakingPeer.connect("/abort-me/", to: first.p2p)
        #expect(try await first.exited().status == SIGABRT)

        // Each start replays the batch and dies in write_batch again, until the third death is counted.
        for crash in 1...2 {
            let run = try await CommandProcess.kaspaSensor(["run", "-c", configuration], environment: Self.environment)
                .finished(limit: .seconds(60))
            #expect(run.status == SIGABRT)
            #expect(run.errors.contains("(crash \(crash) on the batch of events"), "\(run.errors.suffix(2000))")
        }
        let last = try await SensorProcess(configuration: configuration, environment: Self.environment)
        #expect(try await eventually { last.output.contains { $0.contains("(crash 3 on the batch of events") } })
        #expect(last.output.contains { $0.contains("setting the batch aside in the dead-letter file") })
        try await HandshakingPeer.connect("/ok-after/", to: last.p2p)
        #expect(try await eventually { agents().contains("/ok-after/") })
        try await last.stop(with: SIGTERM)

        #expect(!agents().contains("/abort-me/"))
        let letters = try ExternalPlugin.jsonLines(
            at: directory.appendingPathComponent("dead-letters/sink.jsonl").path)
        let setAside = letters.compactMap { ($0["event"] as? [String: Any])?["user_agent"] as? String }
        #expect(setAside.contains("/abort-me/"))
        #expect(letters.allSatisfy { ($0["reason"] as? String)?.contains("died 3 times") == true })
    }
}
