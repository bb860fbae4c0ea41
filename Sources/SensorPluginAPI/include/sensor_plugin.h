/*
 * sensor_plugin.h — the kaspa-sensor sink plugin ABI, version 1.1.
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
 *   that needs the event JSON only now and then no longer pays for building it for every event.
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
 *     queues events meanwhile (bounded; overflow is counted as drops).
 *   - Different instances (of the same or different plugins) run concurrently on different threads: plugin
 *     GLOBAL state must be thread-safe or absent.
 *   - host->log, host->add_counter and host->set_gauge may be called from any thread, including threads the
 *     plugin owns, between the start of create() and the return of destroy(). Threads a plugin starts must be
 *     joined in destroy(). Plugins must not install signal handlers, call exit(), or change the locale.
 *
 * ERRORS
 *   - Callbacks return a status: SENSOR_OK, SENSOR_RETRY (transient: the host calls write_batch again later
 *     with the SAME batch, with exponential backoff; plugins must tolerate seeing an event twice and may
 *     dedupe on event_id), SENSOR_ERROR (this batch failed permanently: the host counts and logs it, drops
 *     it and keeps the instance), SENSOR_FATAL (the instance is unusable: the host stops calling it except for
 *     one final destroy(), counts everything it would have received as dropped, and keeps the other sinks
 *     running), SENSOR_BAD_CONFIG
 *     (create() only: the config is invalid; say why with host->log before returning).
 *     Any other value is treated as SENSOR_ERROR. The host owns retries and the circuit breaker.
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
#define SENSOR_ABI_MINOR 1

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
 */
#define SENSOR_PLUGIN_JSON_ON_REQUEST 0x1u

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
    /* 1.1+: new host functions are appended here; check SENSOR_HOST_HAS(host, member) before use. */
} sensor_host_api;

/** The plugin's descriptor. Plugin-owned, static, immutable, lives forever. */
typedef struct sensor_plugin {
    uint32_t struct_size; /* sizeof(sensor_plugin) as the plugin was compiled */
    uint32_t magic; /* SENSOR_PLUGIN_MAGIC */
    uint16_t abi_major; /* SENSOR_ABI_MAJOR the plugin was compiled with */
    uint16_t abi_minor; /* SENSOR_ABI_MINOR the plugin was compiled with */
    uint32_t flags; /* capability bits: 0, or SENSOR_PLUGIN_JSON_ON_REQUEST (1.1+); others are reserved */
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
