/*
 * sensor_plugin.h — the kaspa-sensor sink plugin ABI, version 1.2.
 *
 * A sink plugin is a shared library that exports ONE symbol, `sensor_plugin_query_v1`, returning a pointer to
 * a static `sensor_plugin` descriptor. The host (kaspa-sensor) loads it with dlopen(RTLD_NOW | RTLD_LOCAL),
 * checks the descriptor, then creates one instance per `[[sink]]` entry of plugins.toml and hands it batches
 * of events. This header is self-contained (C11, <stddef.h> and <stdint.h> only) so plugins can be written in
 * C, C++, Rust, Zig, Go (cgo) or Swift without the host's sources.
 *
 * ---------------------------------------------------------------------------------------------------------
 * VERSIONING
 *   - The major version is part of the entry symbol's name. A future incompatible ABI adds
 *     `sensor_plugin_query_v2`; the host looks for the highest major it knows and a plugin may export several.
 *   - The host passes its (major, minor) to the query function; the descriptor states the plugin's
 *     (major, minor). Majors must be equal. Minors only ever ADD things:
 *   - Every struct crossing the boundary starts with `uint32_t struct_size` and only grows at its end.
 *     The host copies min(struct_size, sizeof) of the descriptor into zeroed memory, so callbacks a plugin
 *     built against an older minor does not have read as NULL = "not supported". A plugin checks
 *     SENSOR_HOST_HAS(host, member) before calling a host function added in a later minor, and reads event
 *     members added later only when SENSOR_EVENT_HAS(event, member).
 *   - Events are passed as arrays of POINTERS, so a larger future sensor_event never changes array stride.
 *   - Event fields are name/value pairs (sensor_field): new data fields appear without any ABI change.
 *   Changelog: 1.0 — initial version. 1.1 — flag SENSOR_PLUGIN_JSON_ON_REQUEST and host->event_json: a plugin
 *   that needs the event JSON only now and then no longer pays for building it for every event. 1.2 — the host
 *   owns durability, retries and dead letters for every sink (see DURABILITY): host->retry_after (a RETRY that
 *   says how long to wait, e.g. an HTTP Retry-After), host->reject_event (events refused for good go to the
 *   sink's dead-letter file, one by one or the whole batch), host->stop_deadline (when a blocking write_batch
 *   should give up because the sensor is stopping), and flag SENSOR_PLUGIN_NEEDS_JOURNAL.
 *
 * LIFECYCLE (host side, per [[sink]] entry)
 *   query → create(host, config_json) → write_batch* → flush → destroy.
 *   The library is never dlclose'd (images containing Swift cannot be unloaded).
 *
 * OWNERSHIP
 *   - Everything the host passes (events, fields, strings, config JSON) is BORROWED for the duration of that
 *     call only. Copy what you keep.
 *   - The sensor_host_api pointer stays valid from create() until destroy() returns.
 *   - Everything the plugin returns (descriptor, name, version, built_with) is static for the life of the
 *     process.
 *   - Memory is never freed across the boundary. There are no plugin-allocated error strings: report errors
 *     with host->log(), which copies the text before returning. The plugin frees its instance in destroy().
 *
 * THREADING
 *   - sensor_plugin_query_v1 is pure and may be called more than once, from any thread.
 *   - All calls for ONE instance (create, write_batch, flush, destroy) are serialized and made from ONE
 *     dedicated host thread that belongs to that instance (never a network thread). Per-instance state needs
 *     no locks, and thread-affine C libraries are safe. Blocking inside a callback is allowed: the host
 *     queues events meanwhile (bounded; with the journal, overflow is read back from it later, without it is
 *     counted as drops).
 *   - Different instances (of the same or different plugins) run concurrently on different threads: plugin
 *     GLOBAL state must be thread-safe or absent.
 *   - host->log, host->add_counter, host->set_gauge and host->stop_deadline may be called from any thread,
 *     including threads the plugin owns, between the start of create() and the return of destroy();
 *     host->event_json, host->retry_after and host->reject_event only from inside write_batch, on its thread.
 *     Threads a plugin starts must be joined in destroy(). Plugins must not install signal handlers, call
 *     exit(), or change the locale.
 *
 * ERRORS
 *   - Callbacks return a status: SENSOR_OK, SENSOR_RETRY (transient: the host calls write_batch again later
 *     with the SAME batch, after its exponential backoff or the wait given with host->retry_after (1.2+);
 *     plugins must tolerate seeing an event twice and may dedupe on event_id), SENSOR_ERROR (this batch failed
 *     permanently: the host writes its events to the sink's dead-letter file (1.2+; with the reasons given
 *     through host->reject_event), counts and logs it, and keeps the instance), SENSOR_FATAL (the instance is
 *     unusable: the host stops calling it except for one final destroy(), counts everything it would have
 *     received as dropped (with the journal, it is sent after the next start), and keeps the other sinks
 *     running), SENSOR_BAD_CONFIG (create() only: the config is invalid; say why with host->log before
 *     returning). Any other value is treated as SENSOR_ERROR. The host owns retries, backoff, dead letters and
 *     the circuit breaker.
 *
 * DURABILITY (1.2)
 *   - The host appends every event to its journal before any sink sees it, and moves a sink's place in the
 *     journal only once write_batch has answered SENSOR_OK or SENSOR_ERROR. After a crash, a restart or an
 *     outage the sink is given everything past that place again. A sink therefore keeps no buffer, spool, retry
 *     loop or dead-letter file of its own: it delivers inside write_batch and answers OK, RETRY or ERROR. How
 *     long an outage can last without loss is bounded by the journal's size ([plugins] journal_max_mb).
 *   - A sink that relies on this (without the journal its events would be lost by a crash or a long outage)
 *     sets SENSOR_PLUGIN_NEEDS_JOURNAL: the host then refuses to start it when the journal is turned off.
 *   - Events refused for good are never dropped silently: the host appends each to the sink's dead-letter
 *     file (one JSON line: time, sink, code, reason, sequence, the event) and counts it in
 *     sensor_sink_dead_lettered_total.
 *     Refuse some events of a batch with host->reject_event and answer OK (the rest count as delivered), or
 *     answer SENSOR_ERROR to refuse the whole batch.
 *   - Batch limits: 1.2 does NOT let a plugin declare a maximum batch. The host hands write_batch up to the
 *     [[sink]] entry's batch_max events; a plugin whose service has limits (a request's count or bytes) splits
 *     the batch into requests within them, inside one write_batch. A RETRY makes the host redeliver the whole
 *     batch; the plugin may skip what it already delivered, since sequences only grow within one host run.
 * ---------------------------------------------------------------------------------------------------------
 */
#ifndef KASPA_SENSOR_PLUGIN_H
#define KASPA_SENSOR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SENSOR_ABI_MAJOR 1
#define SENSOR_ABI_MINOR 2

/** First field after struct_size of every descriptor: 'SNSR'. Catches files that are not sensor plugins. */
#define SENSOR_PLUGIN_MAGIC 0x534E5352u

/** Name of the entry point for ABI major 1. */
#define SENSOR_PLUGIN_QUERY_V1_SYMBOL "sensor_plugin_query_v1"

#if defined(_WIN32)
#define SENSOR_EXPORT __declspec(dllexport)
#else
#define SENSOR_EXPORT __attribute__((visibility("default")))
#endif

/* Status codes (int32_t; never a C enum in the ABI). */
#define SENSOR_OK 0
#define SENSOR_RETRY 1
#define SENSOR_ERROR (-1)
#define SENSOR_FATAL (-2)
#define SENSOR_BAD_CONFIG (-3)

/* Log levels for host->log. */
#define SENSOR_LOG_ERROR 0
#define SENSOR_LOG_WARN 1
#define SENSOR_LOG_INFO 2
#define SENSOR_LOG_DEBUG 3

/*
 * Capability bits of sensor_plugin.flags (1.1+).
 * SENSOR_PLUGIN_JSON_ON_REQUEST: the plugin reads an event's JSON only now and then. The host then leaves
 * sensor_event.json empty (len 0) and builds the JSON only when the plugin calls host->event_json. A 1.0 host
 * ignores the bit and fills json as before, so check `json.len` first, then SENSOR_HOST_HAS(host, event_json).
 * SENSOR_PLUGIN_NEEDS_JOURNAL (1.2+): the plugin keeps no events of its own and relies on the host's journal
 * for durability (see DURABILITY). A 1.2 host refuses to start it when [plugins] journal = false; an older host
 * ignores the bit.
 */
#define SENSOR_PLUGIN_JSON_ON_REQUEST 0x1u
#define SENSOR_PLUGIN_NEEDS_JOURNAL 0x2u

/* Value types of a sensor_field. */
#define SENSOR_FIELD_NULL 0  /* no value (the field is known but empty for this event) */
#define SENSOR_FIELD_INT 1   /* int_value */
#define SENSOR_FIELD_FLOAT 2 /* float_value */
#define SENSOR_FIELD_TEXT 3  /* text_value (UTF-8) */
#define SENSOR_FIELD_BOOL 4  /* int_value: 0 or 1 */

/** A UTF-8 string: `len` bytes at `ptr`. The host also puts a NUL at ptr[len] for C convenience. */
typedef struct sensor_str {
    const char *ptr;
    size_t len;
} sensor_str;

/**
 * One named value of an event. This struct is FROZEN (it never grows): new kinds of values get new type codes.
 * `name` is a stable snake_case key, e.g. "remote_ip"; the same names are the keys of the event's JSON.
 */
typedef struct sensor_field {
    sensor_str name;
    int32_t type; /* SENSOR_FIELD_* */
    int32_t reserved; /* 0 */
    int64_t int_value;
    double float_value;
    sensor_str text_value;
} sensor_field;

/** One event. Host-owned; valid only during the call that receives it. */
typedef struct sensor_event {
    uint32_t struct_size;
    uint32_t schema_version; /* version of the event schema (the field set); 1 today */
    uint64_t sequence; /* strictly increasing within one host run */
    int64_t time_unix_micros; /* when the event was recorded, UTC */
    sensor_str kind; /* "connection" (one per connection attempt) or "session_closed" */
    sensor_str event_id; /* UUID, unique across sensors and runs: the idempotency key */
    sensor_str sensor_id; /* which sensor recorded it */
    sensor_str json; /* the whole event as one JSON object (the same data as `fields`); empty for plugins
                      * with SENSOR_PLUGIN_JSON_ON_REQUEST (1.1+): ask host->event_json instead */
    const sensor_field *fields;
    size_t field_count;
    /* 1.1+: new members are appended here; read them only when SENSOR_EVENT_HAS(event, member). */
} sensor_event;

/** Functions the host offers a plugin instance. Host-owned; valid from create() until destroy() returns. */
typedef struct sensor_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void *host_context; /* opaque: pass it back to the functions below */
    sensor_str instance_name; /* the [[sink]] name from plugins.toml */
    sensor_str sensor_id; /* the sensor id this host runs as */
    /** Writes a log line attributed to this instance. Copies `message`; any thread. */
    void (*log)(void *host_context, int32_t level, const char *message, size_t length);
    /** Adds `delta` to the plugin counter `name` (exported as sensor_sink_plugin_counter_total). Any thread. */
    void (*add_counter)(void *host_context, const char *name, size_t name_length, uint64_t delta);
    /** Sets the plugin gauge `name` (exported as sensor_sink_plugin_gauge). Any thread. */
    void (*set_gauge)(void *host_context, const char *name, size_t name_length, double value);
    /**
     * 1.1: the JSON of `event`, one of the events of the write_batch call in progress, built on request (for
     * plugins with SENSOR_PLUGIN_JSON_ON_REQUEST). Call it only from inside that write_batch, on its thread; the
     * text (NUL-terminated) stays valid until write_batch returns. Any other pointer or thread gets {NULL, 0}.
     */
    sensor_str (*event_json)(void *host_context, const sensor_event *event);
    /**
     * 1.2: from inside write_batch, on its thread, before it returns SENSOR_RETRY: wait at least `milliseconds`
     * (0 to one hour; more is taken as one hour) before calling write_batch again with the same batch, instead of
     * the host's own backoff, e.g. for an HTTP Retry-After. It applies to the RETRY of the call in progress only;
     * calls from elsewhere are ignored.
     */
    void (*retry_after)(void *host_context, int64_t milliseconds);
    /**
     * 1.2: from inside write_batch, on its thread: `event`, one of the batch's, is refused for good, with a
     * service code (e.g. an HTTP status; 0 if none) and a reason (copied), both written to the dead-letter file.
     * When write_batch then returns SENSOR_OK, the host dead-letters the refused events and counts the others as
     * delivered. A refusal holds for the batch across its RETRYs, so a plugin that skips what it already handled
     * need not say it again. With event == NULL, the code and reason apply to the events a SENSOR_ERROR answer
     * refuses that were not refused one by one. Calls from elsewhere, and pointers that are not one of the
     * batch's events, are ignored.
     */
    void (*reject_event)(
        void *host_context, const sensor_event *event, int32_t code, const char *reason, size_t reason_length);
    /**
     * 1.2: the time (Unix microseconds) by which the host needs the call in progress to return because the
     * sensor is stopping (its drain deadline), or 0 while it runs. Any thread. A write_batch that blocks (on the
     * network, say) checks it now and then and answers SENSOR_RETRY once it has passed: the batch stays in the
     * journal and is delivered after the next start.
     */
    int64_t (*stop_deadline)(void *host_context);
    /* 1.2+: new host functions are appended here; check SENSOR_HOST_HAS(host, member) before use. */
} sensor_host_api;

/** The plugin's descriptor. Plugin-owned, static, immutable, lives forever. */
typedef struct sensor_plugin {
    uint32_t struct_size; /* sizeof(sensor_plugin) as the plugin was compiled */
    uint32_t magic; /* SENSOR_PLUGIN_MAGIC */
    uint16_t abi_major; /* SENSOR_ABI_MAJOR the plugin was compiled with */
    uint16_t abi_minor; /* SENSOR_ABI_MINOR the plugin was compiled with */
    uint32_t flags; /* capability bits: 0, SENSOR_PLUGIN_JSON_ON_REQUEST (1.1+), SENSOR_PLUGIN_NEEDS_JOURNAL
                     * (1.2+); others are reserved */
    const char *name; /* short plugin name, e.g. "sqlite" */
    const char *version; /* the plugin's own version */
    const char *built_with; /* diagnostics only: "c", "swift-6.3.1", ... */
    /**
     * Creates an instance from the [sink.config] table of plugins.toml, given as a JSON object. The host adds
     * "_config_dir" (absolute folder of plugins.toml: resolve relative paths against it) and "_sink_name";
     * keys starting with '_' are reserved for the host.
     * Returns SENSOR_OK and sets *out_instance, or SENSOR_BAD_CONFIG / SENSOR_FATAL after logging why.
     */
    int32_t (*create)(const sensor_host_api *host, sensor_str config_json, void **out_instance);
    /** Delivers `count` events (count >= 1). Returns a status (see ERRORS). */
    int32_t (*write_batch)(void *instance, const sensor_event *const *events, size_t count);
    /** Makes everything accepted so far durable, before `deadline_unix_micros` if it can. May be NULL. */
    int32_t (*flush)(void *instance, int64_t deadline_unix_micros);
    /** Releases the instance. Called exactly once, after the last other call. */
    void (*destroy)(void *instance);
    /* 1.1+: optional callbacks are appended here; the host treats absent ones as NULL. */
} sensor_plugin;

/** Type of the entry point. Returns NULL if the plugin cannot serve this host's ABI major. */
typedef const sensor_plugin *(*sensor_plugin_query_fn)(uint16_t host_abi_major, uint16_t host_abi_minor);

#if !defined(__swift__)
/**
 * The only symbol a plugin must export (define it with SENSOR_EXPORT). Pure; may be called more than once.
 * (Swift plugins define it with @_cdecl; the prototype is hidden from Swift to avoid a duplicate declaration.)
 */
SENSOR_EXPORT const sensor_plugin *sensor_plugin_query_v1(uint16_t host_abi_major, uint16_t host_abi_minor);
#endif

/** True when the host API the plugin was given has `member` (added in some minor version). */
#define SENSOR_HOST_HAS(host, member) \
    ((host)->struct_size >= offsetof(sensor_host_api, member) + sizeof((host)->member))

/** True when `event` has `member` (added in some minor version). */
#define SENSOR_EVENT_HAS(event, member) \
    ((event)->struct_size >= offsetof(sensor_event, member) + sizeof((event)->member))

/* Sizes as this C compiler lays the structs out, so other languages never compute C layout themselves. */
static inline uint32_t sensor_plugin_struct_size(void) { return (uint32_t)sizeof(sensor_plugin); }
static inline uint32_t sensor_event_struct_size(void) { return (uint32_t)sizeof(sensor_event); }
static inline uint32_t sensor_host_api_struct_size(void) { return (uint32_t)sizeof(sensor_host_api); }

/**
 * The JSON of `event` for a plugin with SENSOR_PLUGIN_JSON_ON_REQUEST, from inside write_batch: `event->json` when
 * the host filled it in (a 1.0 host ignores the flag), else built by `host->event_json` (1.1+), else empty.
 */
static inline sensor_str sensor_event_json(const sensor_host_api *host, const sensor_event *event) {
    if (event->json.len > 0 || !SENSOR_HOST_HAS(host, event_json) || host->event_json == NULL) {
        return event->json;
    }
    return host->event_json(host->host_context, event);
}

/**
 * Asks the host to wait `milliseconds` before retrying the batch in progress (host->retry_after, 1.2+). Returns 1,
 * or 0 when the host is older: it then waits its own backoff.
 */
static inline int sensor_host_retry_after(const sensor_host_api *host, int64_t milliseconds) {
    if (!SENSOR_HOST_HAS(host, retry_after) || host->retry_after == NULL) return 0;
    host->retry_after(host->host_context, milliseconds);
    return 1;
}

/**
 * Refuses `event` (or, with NULL, a batch answered SENSOR_ERROR) for good through host->reject_event (1.2+).
 * Returns 1, or 0 when the host is older and keeps no dead letters: the plugin must then decide for itself.
 */
static inline int sensor_host_reject_event(
    const sensor_host_api *host, const sensor_event *event, int32_t code, const char *reason, size_t length) {
    if (!SENSOR_HOST_HAS(host, reject_event) || host->reject_event == NULL) return 0;
    host->reject_event(host->host_context, event, code, reason, length);
    return 1;
}

/** host->stop_deadline (1.2+): the Unix microseconds by which to return because the sensor stops, else 0. */
static inline int64_t sensor_host_stop_deadline(const sensor_host_api *host) {
    if (!SENSOR_HOST_HAS(host, stop_deadline) || host->stop_deadline == NULL) return 0;
    return host->stop_deadline(host->host_context);
}

/** Finds the field called `name` (NUL-terminated) in an event, or returns NULL. */
static inline const sensor_field *sensor_event_field(const sensor_event *event, const char *name) {
    for (size_t i = 0; i < event->field_count; i++) {
        const sensor_field *field = &event->fields[i];
        size_t j = 0;
        while (j < field->name.len && name[j] != '\0' && field->name.ptr[j] == name[j]) {
            j++;
        }
        if (j == field->name.len && name[j] == '\0') {
            return field;
        }
    }
    return NULL;
}

#ifdef __cplusplus
}
#endif

#endif /* KASPA_SENSOR_PLUGIN_H */
