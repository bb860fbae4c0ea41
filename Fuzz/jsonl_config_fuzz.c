/*
 * jsonl_config_fuzz.c — the libFuzzer harness for the JSON-lines sink's configuration parser (jsonl_config.c).
 * The input is the configuration JSON create() receives. Checked for every input, with a roomy and a tiny error
 * buffer: the parser returns 0 or 1, the error text is always terminated inside its buffer, and an accepted
 * configuration has an absolute path that fits. Built by scripts/fuzz.sh with -fsanitize=fuzzer,address; replayed
 * without sanitizers by FuzzCorpusTests through replay_main.c.
 */
#include "jsonl_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void parse(const uint8_t *data, size_t size, size_t error_size) {
    jsonl_settings settings;
    char error[256];
    memset(error, 'x', sizeof error);
    int accepted = jsonl_parse_settings((const char *)data, size, &settings, error, error_size);
    if (accepted != 0 && accepted != 1) abort();
    if (!accepted && memchr(error, '\0', error_size) == NULL) abort();
    if (!accepted && error_size > 1 && error[0] == '\0') abort();
    if (accepted && (settings.path[0] != '/' || memchr(settings.path, '\0', sizeof settings.path) == NULL)) abort();
    if (accepted && settings.fsync_each_batch != 0 && settings.fsync_each_batch != 1) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse(data, size, 256);
    parse(data, size, 8);
    return 0;
}
