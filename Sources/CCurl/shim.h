/*
 * CCurl: libcurl and zlib for Swift. curl_easy_setopt and curl_easy_getinfo are variadic and deflateInit2 is a
 * macro, so Swift cannot call them; these typed inline wrappers can.
 */
#ifndef KASPA_SENSOR_CCURL_SHIM_H
#define KASPA_SENSOR_CCURL_SHIM_H

#include <curl/curl.h>
#include <stddef.h>
#include <string.h>
#include <zlib.h>

/** Sets a `long` option. */
static inline CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/** Sets a `curl_off_t` option (`*_LARGE`). */
static inline CURLcode ccurl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/** Sets a pointer option (strings are copied by libcurl; other pointers must outlive the transfer). */
static inline CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}

/** Type of CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION callbacks. */
typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t count, void *context);

/** Type of CURLOPT_XFERINFOFUNCTION callbacks: return non-zero to abort the transfer. */
typedef int (*ccurl_progress_callback)(
    void *context, curl_off_t download_total, curl_off_t downloaded, curl_off_t upload_total, curl_off_t uploaded);

/** Sets CURLOPT_WRITEFUNCTION or CURLOPT_HEADERFUNCTION. */
static inline CURLcode ccurl_setopt_data_callback(CURL *handle, CURLoption option, ccurl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

/** Sets CURLOPT_XFERINFOFUNCTION. */
static inline CURLcode ccurl_setopt_progress_callback(CURL *handle, ccurl_progress_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

/** The last response's HTTP status code, or 0. */
static inline long ccurl_response_code(CURL *handle) {
    long code = 0;
    if (curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) {
        return 0;
    }
    return code;
}

/** An upper bound of the gzip-compressed size of `length` bytes. */
static inline size_t ccurl_gzip_bound(size_t length) {
    return (size_t)compressBound((uLong)length) + 32;
}

/**
 * Compresses `length` bytes at `input` as one gzip member into `output` (capacity `*output_length`, at least
 * ccurl_gzip_bound(length)), setting `*output_length` to the compressed size. Returns 0, or a zlib error code.
 */
static inline int ccurl_gzip(const unsigned char *input, size_t length, unsigned char *output, size_t *output_length) {
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    /* windowBits 15 + 16 selects the gzip wrapper instead of zlib's. */
    int status = deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (status != Z_OK) {
        return status;
    }
    stream.next_in = (Bytef *)input;
    stream.avail_in = (uInt)length;
    stream.next_out = output;
    stream.avail_out = (uInt)*output_length;
    status = deflate(&stream, Z_FINISH);
    *output_length = (size_t)stream.total_out;
    deflateEnd(&stream);
    return status == Z_STREAM_END ? 0 : (status == Z_OK ? Z_BUF_ERROR : status);
}

#endif /* KASPA_SENSOR_CCURL_SHIM_H */
