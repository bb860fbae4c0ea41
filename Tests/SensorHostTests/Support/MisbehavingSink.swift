import Foundation

/// A C sink with the bugs a host must survive, compiled like an outside author's (``ExternalPlugin``):
/// `write_batch` waits until the file `[sink.config] release` exists, when that key is given (a hung export), and
/// calls `abort()` on an event whose `user_agent` contains `abort-me` (a crash that takes the process down); it
/// appends every other event's user agent as a line to `[sink.config] path`.
enum MisbehavingSink {
    /// The C source.
    static let source = #"""
        #define _POSIX_C_SOURCE 200809L
        #include "sensor_plugin.h"
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        #include <unistd.h>

        typedef struct { char path[1024]; char release[1024]; } sink;

        static void read_key(sensor_str config, const char *key, char *value) {
            char pattern[64];
            snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
            const char *found = strstr(config.ptr, pattern);
            if (found) sscanf(found + strlen(pattern), "%1023[^\"]", value);
        }

        static int32_t create(const sensor_host_api *host, sensor_str config, void **out) {
            (void)host;
            sink *instance = calloc(1, sizeof(sink));
            read_key(config, "path", instance->path);
            read_key(config, "release", instance->release);
            if (!instance->path[0]) {
                free(instance);
                return SENSOR_BAD_CONFIG;
            }
            *out = instance;
            return SENSOR_OK;
        }

        static int32_t write_batch(void *instance, const sensor_event *const *events, size_t count) {
            sink *self = instance;
            while (self->release[0] && access(self->release, F_OK) != 0) {
                struct timespec pause = {0, 1000000};
                nanosleep(&pause, NULL);
            }
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
            .struct_size = sizeof(sensor_plugin), .magic = SENSOR_PLUGIN_MAGIC,
            .abi_major = SENSOR_ABI_MAJOR, .abi_minor = SENSOR_ABI_MINOR,
            .name = "misbehaving-sink", .version = "0.1", .built_with = "c",
            .create = create, .write_batch = write_batch, .destroy = destroy,
        };

        SENSOR_EXPORT const sensor_plugin *sensor_plugin_query_v1(uint16_t major, uint16_t minor) {
            (void)minor;
            return major == SENSOR_ABI_MAJOR ? &descriptor : NULL;
        }
        """#

    /// Compiles the sink into `<directory>/libMisbehavingSink.so` and returns its path.
    static func compile(in directory: String) throws -> String {
        let file = (directory as NSString).appendingPathComponent("misbehaving_sink.c")
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        return try ExternalPlugin.compile([file], name: "MisbehavingSink", in: directory)
    }

    /// The user agents the sink wrote to `path`, one per line (none if it wrote nothing yet).
    static func delivered(at path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
