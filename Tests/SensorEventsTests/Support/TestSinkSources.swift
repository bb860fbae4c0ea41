/// C sources of the test plugins, compiled at test time by ``CPluginCompiler``.
enum TestSinkSources {
    /// A sink whose behaviour is chosen by `"mode"` in its config JSON. It reports what it saw through the host
    /// API's `add_counter` (so tests read it from the metrics): `events`, `batches`, `bad_events` (an event whose
    /// envelope or fields do not match what ``TestEvents/numbered(_:)`` publishes), `out_of_order` (a sequence
    /// not above the previous one), `retry_requested`, `same_batch_redelivered`, `flushes`, `destroyed`; and
    /// through `set_gauge` `last_batch_size`, `first_sequence` (of the instance's first batch) and `last_sequence`.
    ///
    /// Modes: `ok`; `gate` (blocks in write_batch until `test_sink_open_gate()` is called); `retry` (answers
    /// every new batch with RETRY once); `fatal` (FATAL from the third call on); `error` (always ERROR);
    /// `status42` (an unknown status); `bad_config` / `create_fatal` (create fails). ABI 1.2 callbacks:
    /// `retry_after` (every new batch: RETRY once with `retry_after(300)`, reporting the gap to the retry in the
    /// gauge `retry_gap_ms`); `reject_odd` (refuses the events with an odd index with `reject_event`, code 422,
    /// and answers OK); `reject_then_retry` (the same refusals, then RETRY once, then OK without saying them
    /// again); `error_reason` (`reject_event(NULL, 503, ...)`, then ERROR); `stray_calls` (calls `retry_after` and
    /// `reject_event` from create and flush, where the host must ignore them); `block_until_stop` (write_batch
    /// waits for the host's `stop_deadline` to pass, counts `stop_deadline_seen`, answers RETRY).
    ///
    /// Compile-time: `PLUGIN_ABI_MINOR=<n>` states an older ABI minor in the descriptor; `NEEDS_JOURNAL` sets
    /// `SENSOR_PLUGIN_NEEDS_JOURNAL`.
    static let configurable = #"""
        #define _POSIX_C_SOURCE 200809L
        #include "sensor_plugin.h"
        #include <pthread.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>

        #ifndef PLUGIN_ABI_MINOR
        #define PLUGIN_ABI_MINOR SENSOR_ABI_MINOR
        #endif
        #ifdef NEEDS_JOURNAL
        #define PLUGIN_FLAGS SENSOR_PLUGIN_NEEDS_JOURNAL
        #else
        #define PLUGIN_FLAGS 0
        #endif

        typedef struct {
            const sensor_host_api *host;
            char mode[32];
            uint64_t last_sequence;
            uint64_t first_sequence;
            long calls;
            uint64_t pending_retry_sequence;
            size_t pending_retry_count;
            int64_t retry_requested_at_ms;
        } test_sink;

        static int64_t now_ms(void) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        }

        static int64_t now_unix_micros(void) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
        }

        static void stray_calls(const sensor_host_api *host) {
            sensor_host_retry_after(host, 3600000);
            sensor_host_reject_event(host, NULL, 1, "not in a batch", 14);
        }

        static pthread_mutex_t gate_mutex = PTHREAD_MUTEX_INITIALIZER;
        static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
        static int gate_open = 0;

        SENSOR_EXPORT void test_sink_open_gate(void) {
            pthread_mutex_lock(&gate_mutex);
            gate_open = 1;
            pthread_cond_broadcast(&gate_cond);
            pthread_mutex_unlock(&gate_mutex);
        }

        static void count(test_sink *sink, const char *name, uint64_t delta) {
            sink->host->add_counter(sink->host->host_context, name, strlen(name), delta);
        }

        static void say(const sensor_host_api *host, int32_t level, const char *text) {
            host->log(host->host_context, level, text, strlen(text));
        }

        static int32_t create(const sensor_host_api *host, sensor_str config, void **out) {
            if (config.ptr[config.len] != '\0' || !SENSOR_HOST_HAS(host, set_gauge)) return SENSOR_FATAL;
            const char *mode = strstr(config.ptr, "\"mode\":\"");
            test_sink *sink = calloc(1, sizeof(test_sink));
            sink->host = host;
            strcpy(sink->mode, "ok");
            if (mode) sscanf(mode + 8, "%31[^\"]", sink->mode);
            if (strcmp(sink->mode, "bad_config") == 0) {
                say(host, SENSOR_LOG_ERROR, "test sink: mode bad_config rejects this configuration");
                free(sink);
                return SENSOR_BAD_CONFIG;
            }
            if (strcmp(sink->mode, "create_fatal") == 0) {
                say(host, SENSOR_LOG_ERROR, "test sink: cannot start");
                free(sink);
                return SENSOR_FATAL;
            }
            say(host, SENSOR_LOG_INFO, "test sink: created");
            if (strcmp(sink->mode, "stray_calls") == 0) stray_calls(host);
            *out = sink;
            return SENSOR_OK;
        }

        static int text_is(sensor_str text, const char *expected) {
            return text.ptr && text.len == strlen(expected) && memcmp(text.ptr, expected, text.len) == 0
                && text.ptr[text.len] == '\0';
        }

        /* Checks one event published by TestEvents.numbered: kind "test", fields index/label/ratio/flag/nothing. */
        static int event_is_valid(const sensor_event *event) {
            if (event->struct_size < sensor_event_struct_size() || !text_is(event->kind, "test")) return 0;
            if (event->event_id.len != 36 || event->event_id.ptr[36] != '\0' || event->schema_version != 1) return 0;
            if (!text_is(event->sensor_id, "sensor-under-test") || event->field_count != 5) return 0;
            const sensor_field *index = sensor_event_field(event, "index");
            if (!index || index->type != SENSOR_FIELD_INT) return 0;
            char expected[64];
            snprintf(expected, sizeof expected, "event-%lld", (long long)index->int_value);
            const sensor_field *label = sensor_event_field(event, "label");
            if (!label || label->type != SENSOR_FIELD_TEXT || !text_is(label->text_value, expected)) return 0;
            const sensor_field *ratio = sensor_event_field(event, "ratio");
            if (!ratio || ratio->type != SENSOR_FIELD_FLOAT || ratio->float_value != index->int_value / 2.0) return 0;
            const sensor_field *flag = sensor_event_field(event, "flag");
            if (!flag || flag->type != SENSOR_FIELD_BOOL || flag->int_value != (index->int_value % 2)) return 0;
            const sensor_field *nothing = sensor_event_field(event, "nothing");
            if (!nothing || nothing->type != SENSOR_FIELD_NULL) return 0;
            char json_label[96];
            snprintf(json_label, sizeof json_label, "\"label\":\"%s\"", expected);
            if (event->json.ptr[event->json.len] != '\0' || !strstr(event->json.ptr, json_label)) return 0;
            if (event->time_unix_micros != 1700000000000000LL + index->int_value) return 0;
            return 1;
        }

        static int32_t write_batch(void *instance, const sensor_event *const *events, size_t n) {
            test_sink *sink = instance;
            sink->calls++;
            if (strcmp(sink->mode, "gate") == 0) {
                pthread_mutex_lock(&gate_mutex);
                while (!gate_open) pthread_cond_wait(&gate_cond, &gate_mutex);
                pthread_mutex_unlock(&gate_mutex);
            }
            if (strcmp(sink->mode, "error") == 0) return SENSOR_ERROR;
            if (strcmp(sink->mode, "status42") == 0) return 42;
            if (strcmp(sink->mode, "fatal") == 0 && sink->calls > 2) return SENSOR_FATAL;
            if (strcmp(sink->mode, "block_until_stop") == 0) {
                int64_t deadline;
                while ((deadline = sensor_host_stop_deadline(sink->host)) == 0 || now_unix_micros() < deadline) {
                    struct timespec pause = {0, 2000000};
                    nanosleep(&pause, NULL);
                }
                count(sink, "stop_deadline_seen", 1);
                return SENSOR_RETRY;
            }
            if (strcmp(sink->mode, "error_reason") == 0) {
                sensor_host_reject_event(sink->host, NULL, 503, "the service refused the batch", 29);
                return SENSOR_ERROR;
            }
            int reject = strcmp(sink->mode, "reject_odd") == 0 || strcmp(sink->mode, "reject_then_retry") == 0;
            int retry_first = strcmp(sink->mode, "retry") == 0 || strcmp(sink->mode, "retry_after") == 0
                || strcmp(sink->mode, "reject_then_retry") == 0;
            int first_attempt = sink->pending_retry_count == 0;
            if (reject && first_attempt) {
                for (size_t i = 0; i < n; i++) {
                    const sensor_field *index = sensor_event_field(events[i], "index");
                    if (index && index->int_value % 2 == 1) {
                        sensor_host_reject_event(sink->host, events[i], 422, "odd index", 9);
                    }
                }
            }
            if (strcmp(sink->mode, "retry_after") == 0 && !first_attempt) {
                sink->host->set_gauge(sink->host->host_context, "retry_gap_ms", 12,
                                      (double)(now_ms() - sink->retry_requested_at_ms));
            }
            if (retry_first) {
                if (sink->pending_retry_count == 0) {
                    if (strcmp(sink->mode, "retry_after") == 0) {
                        sensor_host_retry_after(sink->host, 300);
                        sink->retry_requested_at_ms = now_ms();
                    }
                    sink->pending_retry_sequence = events[0]->sequence;
                    sink->pending_retry_count = n;
                    count(sink, "retry_requested", 1);
                    return SENSOR_RETRY;
                }
                if (sink->pending_retry_sequence == events[0]->sequence && sink->pending_retry_count == n) {
                    count(sink, "same_batch_redelivered", 1);
                }
                sink->pending_retry_count = 0;
            }
            uint64_t bad = 0, out_of_order = 0;
            for (size_t i = 0; i < n; i++) {
                if (!event_is_valid(events[i])) bad++;
                if (events[i]->sequence <= sink->last_sequence) out_of_order++;
                sink->last_sequence = events[i]->sequence;
            }
            count(sink, "events", n);
            count(sink, "batches", 1);
            if (bad) count(sink, "bad_events", bad);
            if (out_of_order) count(sink, "out_of_order", out_of_order);
            sink->host->set_gauge(sink->host->host_context, "last_batch_size", 15, (double)n);
            if (!sink->first_sequence) {
                sink->first_sequence = events[0]->sequence;
                sink->host->set_gauge(sink->host->host_context, "first_sequence", 14, (double)sink->first_sequence);
            }
            sink->host->set_gauge(sink->host->host_context, "last_sequence", 13, (double)events[n - 1]->sequence);
            return SENSOR_OK;
        }

        static int32_t flush(void *instance, int64_t deadline_unix_micros) {
            (void)deadline_unix_micros;
            test_sink *sink = instance;
            if (strcmp(sink->mode, "stray_calls") == 0) stray_calls(sink->host);
            count(instance, "flushes", 1);
            return SENSOR_OK;
        }

        static void destroy(void *instance) {
            count(instance, "destroyed", 1);
            free(instance);
        }

        static const sensor_plugin descriptor = {
            .struct_size = sizeof(sensor_plugin),
            .magic = SENSOR_PLUGIN_MAGIC,
            .abi_major = SENSOR_ABI_MAJOR,
            .abi_minor = PLUGIN_ABI_MINOR,
            .flags = PLUGIN_FLAGS,
            .name = "test-sink",
            .version = "0.1",
            .built_with = "c",
            .create = create,
            .write_batch = write_batch,
            .flush = flush,
            .destroy = destroy,
        };

        SENSOR_EXPORT const sensor_plugin *sensor_plugin_query_v1(uint16_t major, uint16_t minor) {
            (void)minor;
            return major == SENSOR_ABI_MAJOR ? &descriptor : NULL;
        }
        """#

    /// Broken plugins: compile with exactly one of `NO_ENTRY_POINT`, `WRONG_MAGIC`, `ABI_2`, `NULL_QUERY`,
    /// `NO_CREATE`, `TINY_DESCRIPTOR` defined.
    static let broken = #"""
        #include "sensor_plugin.h"
        #include <stddef.h>

        /* Unused in some variants on purpose. */
        __attribute__((unused)) static int32_t create(const sensor_host_api *host, sensor_str config, void **out) {
            (void)host; (void)config; *out = NULL; return SENSOR_OK;
        }
        static int32_t write_batch(void *instance, const sensor_event *const *events, size_t n) {
            (void)instance; (void)events; (void)n; return SENSOR_OK;
        }
        static void destroy(void *instance) { (void)instance; }

        __attribute__((unused)) static const sensor_plugin descriptor = {
            .struct_size = sizeof(sensor_plugin),
        #ifdef WRONG_MAGIC
            .magic = 0xDEADBEEFu,
        #else
            .magic = SENSOR_PLUGIN_MAGIC,
        #endif
        #ifdef ABI_2
            .abi_major = 2,
            .abi_minor = 3,
        #else
            .abi_major = SENSOR_ABI_MAJOR,
            .abi_minor = SENSOR_ABI_MINOR,
        #endif
            .name = "broken",
            .version = "0",
            .built_with = "c",
        #ifndef NO_CREATE
            .create = create,
        #endif
            .write_batch = write_batch,
            .destroy = destroy,
        };

        #ifdef NO_ENTRY_POINT
        SENSOR_EXPORT int some_other_function(void) { return 1; }
        #else
        SENSOR_EXPORT const sensor_plugin *sensor_plugin_query_v1(uint16_t major, uint16_t minor) {
            (void)major; (void)minor;
        #ifdef NULL_QUERY
            return NULL;
        #elif defined(TINY_DESCRIPTOR)
            static sensor_plugin tiny;
            tiny = descriptor;
            tiny.struct_size = 16;
            return &tiny;
        #else
            return &descriptor;
        #endif
        }
        #endif
        """#
}
