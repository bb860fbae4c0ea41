/*
 * jsonl_config.c — a small, strict JSON parser for exactly one shape: a flat object of string values, which
 * is what the host sends for a [sink.config] table holding only strings (plus "_config_dir" and "_sink_name").
 *
 * It is deliberately not a general JSON parser. Every read is bounds-checked against the input's end, every
 * output buffer has a fixed size, and the number of members is capped, so malformed or hostile input can only
 * produce an error message. Pure functions: no globals, safe from any thread.
 */
#include "jsonl_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The unread part of the input: [at, end). */
typedef struct cursor {
    const char *at;
    const char *end;
} cursor;

__attribute__((format(printf, 3, 4))) static int fail(char *error, size_t size, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, size, format, arguments);
    va_end(arguments);
    return 0;
}

static void skip_space(cursor *c) {
    while (c->at < c->end && (*c->at == ' ' || *c->at == '\t' || *c->at == '\n' || *c->at == '\r')) {
        c->at++;
    }
}

/* Consumes `expected` (after optional whitespace); 0 if something else is there. */
static int take(cursor *c, char expected) {
    skip_space(c);
    if (c->at < c->end && *c->at == expected) {
        c->at++;
        return 1;
    }
    return 0;
}

/* Reads exactly four hex digits of a \u escape. */
static int read_hex4(cursor *c, unsigned *value) {
    if (c->end - c->at < 4) return 0;
    unsigned result = 0;
    for (int i = 0; i < 4; i++) {
        char digit = *c->at++;
        result <<= 4;
        if (digit >= '0' && digit <= '9') result |= (unsigned)(digit - '0');
        else if (digit >= 'a' && digit <= 'f') result |= (unsigned)(digit - 'a' + 10);
        else if (digit >= 'A' && digit <= 'F') result |= (unsigned)(digit - 'A' + 10);
        else return 0;
    }
    *value = result;
    return 1;
}

/* Appends one byte to out[0..size), always leaving room for the terminating NUL; 0 when full. */
static int put(char *out, size_t size, size_t *length, unsigned byte) {
    if (*length + 1 >= size) return 0;
    out[(*length)++] = (char)byte;
    return 1;
}

/* Appends a Unicode scalar value (never a surrogate, never 0) as UTF-8. */
static int put_utf8(char *out, size_t size, size_t *length, unsigned scalar) {
    if (scalar < 0x80) return put(out, size, length, scalar);
    if (scalar < 0x800) {
        return put(out, size, length, 0xC0 | (scalar >> 6)) && put(out, size, length, 0x80 | (scalar & 0x3F));
    }
    if (scalar < 0x10000) {
        return put(out, size, length, 0xE0 | (scalar >> 12)) && put(out, size, length, 0x80 | ((scalar >> 6) & 0x3F))
            && put(out, size, length, 0x80 | (scalar & 0x3F));
    }
    return put(out, size, length, 0xF0 | (scalar >> 18)) && put(out, size, length, 0x80 | ((scalar >> 12) & 0x3F))
        && put(out, size, length, 0x80 | ((scalar >> 6) & 0x3F)) && put(out, size, length, 0x80 | (scalar & 0x3F));
}

/*
 * Reads one JSON string (after optional whitespace) into `out`, decoded and NUL-terminated. Returns NULL, or
 * what is wrong. Bytes >= 0x80 are copied as they are (the host sends UTF-8); \u0000 is refused because the
 * result is used as a C string.
 */
static const char *read_string(cursor *c, char *out, size_t size) {
    size_t length = 0;
    if (!take(c, '"')) return "expected a string";
    while (c->at < c->end) {
        unsigned char byte = (unsigned char)*c->at++;
        if (byte == '"') {
            out[length] = '\0';
            return NULL;
        }
        if (byte < 0x20) return "raw control character in a string";
        if (byte != '\\') {
            if (!put(out, size, &length, byte)) return "string too long";
            continue;
        }
        if (c->at >= c->end) break;
        unsigned scalar;
        switch (*c->at++) {
        case '"': scalar = '"'; break;
        case '\\': scalar = '\\'; break;
        case '/': scalar = '/'; break;
        case 'b': scalar = '\b'; break;
        case 'f': scalar = '\f'; break;
        case 'n': scalar = '\n'; break;
        case 'r': scalar = '\r'; break;
        case 't': scalar = '\t'; break;
        case 'u':
            if (!read_hex4(c, &scalar)) return "malformed \\u escape";
            if (scalar >= 0xDC00 && scalar <= 0xDFFF) return "unpaired surrogate in a \\u escape";
            if (scalar >= 0xD800 && scalar <= 0xDBFF) {
                unsigned low;
                if (c->end - c->at < 2 || c->at[0] != '\\' || c->at[1] != 'u') return "unpaired surrogate";
                c->at += 2;
                if (!read_hex4(c, &low) || low < 0xDC00 || low > 0xDFFF) return "unpaired surrogate";
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00);
            }
            if (scalar == 0) return "NUL character in a string";
            break;
        default: return "unknown escape in a string";
        }
        if (!put_utf8(out, size, &length, scalar)) return "string too long";
    }
    return "unterminated string";
}

int jsonl_parse_settings(const char *json, size_t length, jsonl_settings *settings, char *error, size_t error_size) {
    char key[JSONL_MAX_KEY_BYTES];
    char value[JSONL_MAX_PATH_BYTES];
    char path[JSONL_MAX_PATH_BYTES] = "";
    char config_dir[JSONL_MAX_PATH_BYTES] = "";
    int seen_path = 0, seen_fsync = 0, seen_config_dir = 0;
    const char *problem;

    memset(settings, 0, sizeof *settings);
    settings->fsync_each_batch = 1;
    if (json == NULL || length > JSONL_MAX_CONFIG_BYTES) {
        return fail(error, error_size, "the configuration is missing or larger than %d bytes", JSONL_MAX_CONFIG_BYTES);
    }
    cursor c = {json, json + length};
    if (!take(&c, '{')) return fail(error, error_size, "the configuration is not a JSON object");
    if (!take(&c, '}')) {
        for (int members = 0;; members++) {
            if (members == JSONL_MAX_KEYS) return fail(error, error_size, "more than %d keys", JSONL_MAX_KEYS);
            if ((problem = read_string(&c, key, sizeof key)) != NULL) {
                return fail(error, error_size, "bad key in member %d: %s", members + 1, problem);
            }
            if (!take(&c, ':')) return fail(error, error_size, "expected ':' after \"%s\"", key);
            skip_space(&c);
            if (c.at < c.end && *c.at != '"') {
                return fail(error, error_size, "\"%s\" must be a string (this sink takes string values only)", key);
            }
            if ((problem = read_string(&c, value, sizeof value)) != NULL) {
                return fail(error, error_size, "bad value for \"%s\": %s", key, problem);
            }
            if (strcmp(key, "path") == 0) {
                if (seen_path++) return fail(error, error_size, "duplicate key \"path\"");
                memcpy(path, value, strlen(value) + 1);
            } else if (strcmp(key, "fsync") == 0) {
                if (seen_fsync++) return fail(error, error_size, "duplicate key \"fsync\"");
                if (strcmp(value, "batch") == 0) settings->fsync_each_batch = 1;
                else if (strcmp(value, "none") == 0) settings->fsync_each_batch = 0;
                else return fail(error, error_size, "\"fsync\" must be \"batch\" or \"none\", not \"%s\"", value);
            } else if (strcmp(key, "_config_dir") == 0) {
                if (seen_config_dir++) return fail(error, error_size, "duplicate key \"_config_dir\"");
                memcpy(config_dir, value, strlen(value) + 1);
            } else if (key[0] != '_') {
                /* Keys starting with '_' belong to the host ("_sink_name", and any a newer host adds). */
                return fail(error, error_size, "unknown key \"%s\" (this sink knows \"path\" and \"fsync\")", key);
            }
            if (take(&c, ',')) continue;
            if (take(&c, '}')) break;
            return fail(error, error_size, "expected ',' or '}' after the value of \"%s\"", key);
        }
    }
    skip_space(&c);
    if (c.at != c.end) return fail(error, error_size, "unexpected text after the configuration object");

    if (path[0] == '\0') return fail(error, error_size, "\"path\" is required: the file to append events to");
    int written;
    if (path[0] == '/') {
        written = snprintf(settings->path, sizeof settings->path, "%s", path);
    } else if (config_dir[0] == '/') {
        written = snprintf(settings->path, sizeof settings->path, "%s/%s", config_dir, path);
    } else {
        return fail(error, error_size, "relative \"path\" %s needs the host's absolute \"_config_dir\"", path);
    }
    if (written < 0 || (size_t)written >= sizeof settings->path) {
        return fail(error, error_size, "the resolved path is longer than %d bytes", JSONL_MAX_PATH_BYTES - 1);
    }
    return 1;
}
