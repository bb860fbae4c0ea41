/*
 * jsonl_io.h — the POSIX file I/O of the JSON-lines sink: complete writes, fsync, errno classification.
 * Private to the plugin (not under include/). Every function is hidden: a plugin exports nothing but its entry
 * symbol, even when built without -fvisibility=hidden.
 */
#ifndef JSONL_IO_H
#define JSONL_IO_H

#include <stddef.h>

#define JSONL_HIDDEN __attribute__((visibility("hidden")))

/**
 * Writes all of data[0..length) to `fd`, resuming after short writes and EINTR. Returns 0, or the errno value
 * that stopped it; `*written` always says how many bytes did reach the file.
 */
JSONL_HIDDEN int jsonl_write_all(int fd, const char *data, size_t length, size_t *written);

/** fsync(fd), retried on EINTR. Files that cannot be synced (a pipe, /dev/stdout) count as synced. */
JSONL_HIDDEN int jsonl_sync(int fd);

/** Whether a failed write may succeed later unchanged (disk or quota full, EAGAIN, no buffer space). */
JSONL_HIDDEN int jsonl_is_transient(int error);

/** Whether a failed write means the disk or the quota is full (space a person must free). */
JSONL_HIDDEN int jsonl_is_disk_full(int error);

/** The text for an errno value, thread-safe (strerror() may share one buffer between threads). */
JSONL_HIDDEN const char *jsonl_error_text(int error, char *text, size_t size);

#endif /* JSONL_IO_H */
