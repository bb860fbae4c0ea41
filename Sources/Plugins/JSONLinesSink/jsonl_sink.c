/*
 * jsonl_sink.c — a kaspa-sensor sink plugin in plain C: appends each event's JSON as one line to a file.
 *
 * It is also the template for plugin authors: it depends on nothing but sensor_plugin.h and libc, and builds
 * outside this package with
 *     cc -std=c11 -shared -fPIC -fvisibility=hidden -I <repo>/Sources/SensorPluginAPI/include \
 *        -o libJSONLinesSink.so jsonl_sink.c jsonl_config.c jsonl_io.c
 *
 * plugins.toml:
 *     [[sink]]
 *     name = "jsonl"
 *     library = "libJSONLinesSink.so"
 *     [sink.config]
 *     path = "events.jsonl"  # required; relative to the folder of plugins.toml
 *     fsync = "batch"        # "batch" (default): fsync after every write_batch; "none": only in flush()
 *
 * Rules this file follows (sensor_plugin.h has the full contract):
 *   OWNERSHIP  Events, their strings and the config JSON are borrowed for one call: bytes are copied into our
 *              own buffer, no pointer is kept. The sensor_host_api pointer is kept: it is valid until destroy()
 *              returns. The descriptor and its strings are static. We free only what we allocated (the instance).
 *   THREADING  The host makes every call for one instance on one thread, one call at a time, so the instance
 *              needs no lock. There is no global mutable state, so instances may run concurrently.
 *   ERRORS     Each callback returns a status and explains failures with host->log (which copies the text).
 *              SENSOR_RETRY = transient (disk full, EAGAIN): the host redelivers the same batch later, with
 *              backoff; for a full disk we ask for a longer wait with host->retry_after (ABI 1.2), since freeing
 *              space takes a person, not milliseconds. SENSOR_ERROR = permanent: the host writes the batch to the
 *              sink's dead-letter file and counts it; too many in a row open its circuit breaker. A failed batch is
 *              cut off a regular file again, so a retry never leaves a half-written line or a partial copy behind
 *              (see write_batch). An event without JSON is refused alone with host->reject_event (ABI 1.2): the
 *              host dead-letters it, so nothing is dropped silently.
 *   VERSIONS   Every 1.2 host function is called through the header's sensor_host_* wrappers, which do nothing on
 *              an older host (this plugin then counts what it skipped, and the host backs off as usual).
 *   FILE       One writer per file: two sinks (or processes) appending to the same file would interleave.
 *
 * Files: jsonl_sink.c (the ABI side: descriptor and callbacks), jsonl_config.c (strict parsing of the config
 * JSON), jsonl_io.c (complete writes, fsync, errno classification).
 */
#define _POSIX_C_SOURCE 200809L /* ftruncate, fstat and O_CLOEXEC, also under -std=c11 */

#include "sensor_plugin.h"
#include "jsonl_config.h"
#include "jsonl_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSONL_BUFFER_BYTES 65536 /* lines are gathered here and written in chunks of at most this size */
#define JSONL_DISK_FULL_RETRY_MS 5000 /* between attempts while the disk or quota is full */

/* One instance per [[sink]] entry. Owned by the plugin: allocated in create(), freed in destroy(). */
typedef struct jsonl_sink {
    const sensor_host_api *host; /* borrowed from the host; valid until destroy() returns */
    int fd;
    int fsync_each_batch;
    int line_open;  /* our last write ended mid-line (a failed batch that could not be cut off) */
    size_t used;    /* bytes waiting in buffer */
    char path[JSONL_MAX_PATH_BYTES];
    char buffer[JSONL_BUFFER_BYTES];
} jsonl_sink;

/* Logs through the host, which copies the text and tags it with the instance name. */
__attribute__((format(printf, 3, 4))) static void say(const sensor_host_api *host, int32_t level,
                                                      const char *format, ...) {
    if (host->log == NULL) return;
    char message[1024];
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    if (length < 0) return;
    size_t kept = (size_t)length < sizeof message ? (size_t)length : sizeof message - 1; /* vsnprintf truncated */
    host->log(host->host_context, level, message, kept);
}

/* Adds to a plugin counter, exported by the host as sensor_sink_plugin_counter_total{sink,name}. */
static void report(jsonl_sink *sink, const char *name, uint64_t delta) {
    if (sink->host->add_counter != NULL) sink->host->add_counter(sink->host->host_context, name, strlen(name), delta);
}

/* Writes the buffer out and remembers whether the file now ends mid-line. */
static int write_buffer(jsonl_sink *sink) {
    size_t written;
    int error = jsonl_write_all(sink->fd, sink->buffer, sink->used, &written);
    if (written > 0) sink->line_open = sink->buffer[written - 1] != '\n';
    sink->used = 0;
    return error;
}

/*
 * Copies bytes into the buffer, writing it out whenever it fills. A raw line break (\n or \r) inside valid JSON
 * can only be whitespace between tokens, so it becomes a space: the object is unchanged and stays on one line.
 */
static int append(jsonl_sink *sink, const char *bytes, size_t length, int is_json) {
    while (length > 0) {
        if (sink->used == sizeof sink->buffer) {
            int error = write_buffer(sink);
            if (error != 0) return error;
        }
        size_t room = sizeof sink->buffer - sink->used;
        size_t chunk = length < room ? length : room;
        for (size_t i = 0; i < chunk; i++) {
            char byte = bytes[i];
            sink->buffer[sink->used++] = (is_json && (byte == '\n' || byte == '\r')) ? ' ' : byte;
        }
        bytes += chunk;
        length -= chunk;
    }
    return 0;
}

static int32_t jsonl_create(const sensor_host_api *host, sensor_str config_json, void **out_instance) {
    if (host == NULL || out_instance == NULL) return SENSOR_FATAL;
    *out_instance = NULL;
    jsonl_settings settings;
    char reason[512];
    if (!jsonl_parse_settings(config_json.ptr, config_json.len, &settings, reason, sizeof reason)) {
        say(host, SENSOR_LOG_ERROR, "jsonl sink: invalid [sink.config]: %s", reason);
        return SENSOR_BAD_CONFIG;
    }
    jsonl_sink *sink = calloc(1, sizeof *sink);
    if (sink == NULL) {
        say(host, SENSOR_LOG_ERROR, "jsonl sink: out of memory");
        return SENSOR_FATAL;
    }
    sink->host = host;
    sink->fsync_each_batch = settings.fsync_each_batch;
    memcpy(sink->path, settings.path, sizeof sink->path);
    /* O_APPEND: every write goes to the current end of the file, never over existing lines. 0640: the events
     * hold peers' IP addresses. */
    do {
        sink->fd = open(sink->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    } while (sink->fd < 0 && errno == EINTR);
    if (sink->fd < 0) {
        int error = errno;
        char text[128];
        say(host, SENSOR_LOG_ERROR, "jsonl sink: cannot open %s: %s", sink->path,
            jsonl_error_text(error, text, sizeof text));
        free(sink);
        /* A path that cannot work is a configuration error; running out of descriptors or memory is not. */
        return (error == EMFILE || error == ENFILE || error == ENOMEM) ? SENSOR_FATAL : SENSOR_BAD_CONFIG;
    }
    say(host, SENSOR_LOG_INFO, "jsonl sink: appending to %s (fsync %s)", sink->path,
        sink->fsync_each_batch ? "after every batch" : "only on flush");
    *out_instance = sink;
    return SENSOR_OK;
}

/* Cuts a failed batch off the file (when it is a regular file) and chooses RETRY or ERROR. */
static int32_t fail_batch(jsonl_sink *sink, off_t start, int line_open_before, int error) {
    char text[128];
    if (start >= 0) {
        int cut;
        do {
            cut = ftruncate(sink->fd, start);
        } while (cut != 0 && errno == EINTR);
        if (cut == 0) {
            sink->line_open = line_open_before;
        } else {
            say(sink->host, SENSOR_LOG_WARN, "jsonl sink: cannot remove a partial batch from %s: %s", sink->path,
                jsonl_error_text(errno, text, sizeof text));
        }
    }
    int retry = jsonl_is_transient(error);
    const char *why = jsonl_error_text(error, text, sizeof text);
    say(sink->host, retry ? SENSOR_LOG_WARN : SENSOR_LOG_ERROR, "jsonl sink: cannot append to %s: %s (%s)",
        sink->path, why, retry ? "will retry" : "the host dead-letters the batch");
    if (!retry) {
        sensor_host_reject_event(sink->host, NULL, error, why, strlen(why)); /* the reason in the dead letters */
        return SENSOR_ERROR;
    }
    if (jsonl_is_disk_full(error)) sensor_host_retry_after(sink->host, JSONL_DISK_FULL_RETRY_MS);
    return SENSOR_RETRY;
}

static int32_t jsonl_write_batch(void *instance, const sensor_event *const *events, size_t count) {
    jsonl_sink *sink = instance;
    struct stat status;
    /* Where this batch begins, to cut it off again if it fails (only regular files can be truncated). */
    off_t start = (fstat(sink->fd, &status) == 0 && S_ISREG(status.st_mode)) ? status.st_size : -1;
    int line_open_before = sink->line_open;
    uint64_t lines = 0, skipped = 0;
    int error = 0;
    sink->used = 0;
    if (sink->line_open) error = append(sink, "\n", 1, 0); /* finish a torn line left by an earlier failure */
    for (size_t i = 0; i < count && error == 0; i++) {
        const sensor_event *event = events[i];
        /* SENSOR_EVENT_HAS is how to read members added in later ABI minors; `json` is in 1.0. */
        if (event == NULL) continue;
        if (!SENSOR_EVENT_HAS(event, json) || event->json.ptr == NULL || event->json.len == 0) {
            static const char reason[] = "the event has no JSON to write";
            if (!sensor_host_reject_event(sink->host, event, 0, reason, sizeof reason - 1)) skipped++;
            continue;
        }
        error = append(sink, event->json.ptr, event->json.len, 1);
        if (error == 0) error = append(sink, "\n", 1, 0);
        lines++;
    }
    if (error == 0) error = write_buffer(sink);
    if (error == 0 && sink->fsync_each_batch) error = jsonl_sync(sink->fd);
    if (error != 0) return fail_batch(sink, start, line_open_before, error);
    report(sink, "lines_written", lines);
    if (skipped > 0) {
        report(sink, "events_without_json", skipped);
        say(sink->host, SENSOR_LOG_WARN, "jsonl sink: skipped %llu events without JSON", (unsigned long long)skipped);
    }
    return SENSOR_OK;
}

/* Called once at shutdown, before destroy(). fsync cannot stop at the deadline; for one file it is short. */
static int32_t jsonl_flush(void *instance, int64_t deadline_unix_micros) {
    (void)deadline_unix_micros;
    jsonl_sink *sink = instance;
    int error = jsonl_sync(sink->fd);
    if (error == 0) return SENSOR_OK;
    char text[128];
    say(sink->host, SENSOR_LOG_ERROR, "jsonl sink: fsync %s: %s", sink->path,
        jsonl_error_text(error, text, sizeof text));
    return SENSOR_ERROR;
}

/* The last call for this instance: release everything it owns. The host's strings are not ours to free. */
static void jsonl_destroy(void *instance) {
    jsonl_sink *sink = instance;
    if (sink == NULL) return;
    /* Linux closes the descriptor even when close() reports EINTR, so it is never retried. */
    if (close(sink->fd) != 0) {
        char text[128];
        say(sink->host, SENSOR_LOG_WARN, "jsonl sink: close %s: %s", sink->path,
            jsonl_error_text(errno, text, sizeof text));
    }
    free(sink);
}

/* Static and immutable: the host keeps pointers to it (and its strings) for the life of the process. */
static const sensor_plugin descriptor = {
    .struct_size = sizeof(sensor_plugin),
    .magic = SENSOR_PLUGIN_MAGIC,
    .abi_major = SENSOR_ABI_MAJOR,
    .abi_minor = SENSOR_ABI_MINOR,
    .flags = 0,
    .name = "jsonl",
    .version = "1.0.0",
    .built_with = "c",
    .create = jsonl_create,
    .write_batch = jsonl_write_batch,
    .flush = jsonl_flush,
    .destroy = jsonl_destroy,
};

/* The only exported symbol (SENSOR_EXPORT on the header's prototype; everything else is static or hidden). A 1.x
 * host of any minor can run a 1.0 plugin, because minors only add things. */
SENSOR_EXPORT const sensor_plugin *sensor_plugin_query_v1(uint16_t host_abi_major, uint16_t host_abi_minor) {
    (void)host_abi_minor;
    return host_abi_major == SENSOR_ABI_MAJOR ? &descriptor : NULL;
}
