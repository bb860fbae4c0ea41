/*
 * jsonl_io.c — see jsonl_io.h. No state: safe from any thread.
 */
#define _POSIX_C_SOURCE 200809L /* the XSI strerror_r and fsync, also under -std=c11 */

#include "jsonl_io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int jsonl_write_all(int fd, const char *data, size_t length, size_t *written) {
    *written = 0;
    while (length > 0) {
        ssize_t result = write(fd, data, length);
        if (result < 0) {
            if (errno == EINTR) continue; /* a signal arrived before anything was written: try again */
            return errno;
        }
        if (result == 0) return EIO; /* no progress and no reason: report it rather than spin */
        *written += (size_t)result;
        data += result;
        length -= (size_t)result;
    }
    return 0;
}

int jsonl_sync(int fd) {
    while (fsync(fd) != 0) {
        if (errno == EINTR) continue;
        if (errno == EINVAL || errno == EROFS) return 0; /* a special file: nothing to make durable */
        return errno;
    }
    return 0;
}

int jsonl_is_transient(int error) {
    switch (error) {
    case ENOSPC:
    case EAGAIN:
    case ENOBUFS:
    case ENOMEM:
#if defined(EDQUOT)
    case EDQUOT:
#endif
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
        return 1;
    default:
        return 0;
    }
}

int jsonl_is_disk_full(int error) {
#if defined(EDQUOT)
    if (error == EDQUOT) return 1;
#endif
    return error == ENOSPC;
}

const char *jsonl_error_text(int error, char *text, size_t size) {
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(error, text, size); /* the GNU variant returns the text */
#else
    if (strerror_r(error, text, size) != 0) snprintf(text, size, "errno %d", error);
    return text;
#endif
}
