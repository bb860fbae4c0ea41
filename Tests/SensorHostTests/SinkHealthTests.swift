import Foundation
import TestSupport
import Testing

@Suite("/health names a sink whose write_batch runs past write_deadline_ms (real sensor, in process)")
struct SinkHealthTests {
    /// A sink whose `write_batch` waits until the file `[sink.config] release` exists (a hung export, say).
    static let hangingSink = #"""
        #define _POSIX_C_SOURCE 200809L
        #include "sensor_plugin.h"
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        #include <unistd.h>

        typedef struct { char release[1024]; } sink;

        static int32_t create(const sensor_host_api *host, sensor_str config, void **out) {
            (void)host;
            const char *key = strstr(config.ptr, "\"release\":\"");
            if (!key) return SENSOR_BAD_CONFIG;
            sink *instance = calloc(1, sizeof(sink));
            sscanf(key + 11, "%1023[^\"]", instance->release);
            *out = instance;
            return SENSOR_OK;
        }

        static int32_t write_batch(void *instance, const sensor_event *const *events, size_t count) {
            (void)events;
            (void)count;
            sink *self = instance;
            while (access(self->release, F_OK) != 0) {
                struct timespec pause = {0, 1000000};
                nanosleep(&pause, NULL);
            }
            return SENSOR_OK;
        }

        static void destroy(void *instance) { free(instance); }

        static const sensor_plugin descriptor = {
            .struct_size = sizeof(sensor_plugin), .magic = SENSOR_PLUGIN_MAGIC,
            .abi_major = SENSOR_ABI_MAJOR, .abi_minor = SENSOR_ABI_MINOR,
            .name = "hanging-sink", .version = "0.1", .built_with = "c",
            .create = create, .write_batch = write_batch, .destroy = destroy,
        };

        SENSOR_EXPORT const sensor_plugin *sensor_plugin_query_v1(uint16_t major, uint16_t minor) {
            (void)minor;
            return major == SENSOR_ABI_MAJOR ? &descriptor : NULL;
        }
        """#

    /// Asks `path` of the metrics server until `done` holds for the answer (or 30 s have passed); returns the last.
    private static func poll(
        _ sensor: SensorHarness, _ path: String, until done: (Int, String) -> Bool
    ) async throws -> (status: Int, body: String) {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let answer = try await sensor.get(path)
            if done(answer.status, answer.body) || ContinuousClock.now >= deadline { return answer }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("A hung write_batch makes /health answer 503 naming the sink; a call in time makes it 200 again")
    func overdueSinkIsDegraded() async throws {
        let directory = try ExternalPlugin.makeTemporaryDirectory()
        defer { ExternalPlugin.remove(directory) }
        let source = (directory as NSString).appendingPathComponent("hanging_sink.c")
        try Self.hangingSink.write(toFile: source, atomically: true, encoding: .utf8)
        let library = try ExternalPlugin.compile([source], name: "HangingSink", in: directory)
        let release = (directory as NSString).appendingPathComponent("release")
        let plugins = """
            [[sink]]
            name = "hanging"
            library = "\(library)"
            flush_interval_ms = 20
            write_deadline_ms = 200
            [sink.config]
            release = "\(release)"
            """
        try await SensorHarness.withSensor(["probing": ["enabled": "false"]], plugins: plugins) { sensor in
            #expect(try await sensor.get("/health").status == 200)
            try await HandshakingPeer.connect("/first/", to: sensor.p2p)
            let degraded = try await Self.poll(sensor, "/health") { status, _ in status == 503 }
            #expect(degraded.status == 503)
            #expect(degraded.body.contains("\"status\":\"degraded\""))
            #expect(degraded.body.contains("sink hanging: write_batch ran past its write_deadline_ms"))
            let gauge = "sensor_sink_write_overdue{sink=\"hanging\"} 1"
            #expect(try await Self.poll(sensor, "/metrics") { _, body in body.contains(gauge) }.body.contains(gauge))

            // The hung call returns late; the next call, in time, makes the sink healthy again.
            _ = FileManager.default.createFile(atPath: release, contents: nil)
            try await HandshakingPeer.connect("/second/", to: sensor.p2p)
            #expect(try await Self.poll(sensor, "/health") { status, _ in status == 200 }.status == 200)
        }
    }
}
