/*
 * jsonl_config.h — the JSON-lines sink's settings, parsed from the JSON object the host hands to create().
 * Private to the plugin (not under include/): nothing here is part of the plugin ABI.
 */
#ifndef JSONL_CONFIG_H
#define JSONL_CONFIG_H

#include <stddef.h>

/* Bounds: the parser never reads, stores or loops beyond these, whatever the input. */
#define JSONL_MAX_CONFIG_BYTES 65536 /* the whole configuration JSON */
#define JSONL_MAX_KEYS 64            /* members of the object, host keys included */
#define JSONL_MAX_KEY_BYTES 128      /* one decoded key, NUL included */
#define JSONL_MAX_PATH_BYTES 4096    /* one decoded string value, and the resolved path, NUL included */

/** The validated `[sink.config]` of one instance. */
typedef struct jsonl_settings {
    /** The absolute path of the file to append to (`path`, resolved against `_config_dir` when relative). */
    char path[JSONL_MAX_PATH_BYTES];
    /** 1: fsync after every write_batch (`fsync = "batch"`, the default); 0: never (`fsync = "none"`). */
    int fsync_each_batch;
} jsonl_settings;

/**
 * Parses `json` (`length` bytes, need not be NUL-terminated): a flat JSON object whose values are all strings.
 * Known keys: `path` (required), `fsync`; host keys `_config_dir` (used) and any other `_…` key (ignored, so
 * a newer host may add some). Anything else — unknown keys, other value types, duplicates, trailing text — is
 * rejected. Returns 1 on success; else 0 with a one-line reason in `error` (always NUL-terminated).
 * Hidden: a plugin exports nothing but its entry symbol, even when built without -fvisibility=hidden.
 */
__attribute__((visibility("hidden"))) int jsonl_parse_settings(const char *json, size_t length,
                                                               jsonl_settings *settings, char *error,
                                                               size_t error_size);

#endif /* JSONL_CONFIG_H */
