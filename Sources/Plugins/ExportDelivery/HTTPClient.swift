import CCurl
import Foundation
package import PluginSupport

/// Sends requests with one reused libcurl easy handle (keep-alive connections survive between requests).
/// Used by the host's thread of the instance only (inside `write_batch`). No signals (`CURLOPT_NOSIGNAL`), no
/// redirects, http and https only.
package final class HTTPClient {
    /// One request: method, absolute URL, header lines (`Name: value`) and body.
    package struct Request {
        /// `POST`, `PATCH` or `PUT`.
        package var method: String
        /// The absolute `http://` or `https://` URL (it may carry a secret in its query: never logged).
        package var url: String
        /// Header lines.
        package var headers: [String]
        /// The request body.
        package var body: [UInt8]

        /// A request; POST by default.
        package init(method: String = "POST", url: String, headers: [String], body: [UInt8]) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }
    }

    /// The outcome of one request.
    package enum Outcome {
        /// The server answered: its status, its `Retry-After` header (if any) and the start of its body.
        case response(status: Int, retryAfter: String?, body: [UInt8])
        /// No answer: connection refused, DNS, TLS, timeout or abort; libcurl's explanation.
        case transportError(String)
    }

    /// Connection settings shared by every request of a client.
    package struct Options {
        /// The TCP/TLS connect timeout.
        package var connectTimeoutMilliseconds: Int
        /// The whole request's timeout.
        package var requestTimeoutMilliseconds: Int
        /// Whether TLS certificates and host names are verified.
        package var tlsVerify: Bool
        /// The most response-body bytes kept (the rest is read and dropped).
        package var responseLimit: Int

        /// Options with every value given.
        package init(
            connectTimeoutMilliseconds: Int, requestTimeoutMilliseconds: Int, tlsVerify: Bool, responseLimit: Int
        ) {
            self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
            self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
            self.tlsVerify = tlsVerify
            self.responseLimit = responseLimit
        }
    }

    /// The most response-body bytes quoted in logs and the dead-letter file.
    package static let snippetLimit = 512

    private let handle: UnsafeMutableRawPointer
    private let transfer: Transfer

    /// Prepares a handle; `abort` (asked by libcurl's progress callback about once a second, or more often)
    /// ends a transfer in flight when it answers `true`. Throws a reason when libcurl cannot be set up.
    package init(options: Options, abort: @escaping () -> Bool) throws(SettingsError) {
        guard curlGlobalStatus == CURLE_OK else {
            throw SettingsError("curl_global_init failed: \(String(cString: curl_easy_strerror(curlGlobalStatus)))")
        }
        guard let handle = curl_easy_init() else { throw SettingsError("curl_easy_init failed") }
        self.handle = handle
        transfer = Transfer(abort: abort, limit: options.responseLimit)
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        let results = [
            ccurl_setopt_pointer(handle, CURLOPT_PROTOCOLS_STR, "http,https"),
            ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1),
            ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0),
            ccurl_setopt_long(handle, CURLOPT_POST, 1),
            ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMilliseconds),
            ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, options.requestTimeoutMilliseconds),
            ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, options.tlsVerify ? 1 : 0),
            ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, options.tlsVerify ? 2 : 0),
            ccurl_setopt_long(handle, CURLOPT_NOPROGRESS, 0),
            ccurl_setopt_progress_callback(handle, progressCallback),
            ccurl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context),
            ccurl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, bodyCallback),
            ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, context),
            ccurl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, headerCallback),
            ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, context),
        ]
        if let failed = results.first(where: { $0 != CURLE_OK }) {
            curl_easy_cleanup(handle)
            throw SettingsError("libcurl refused an option: \(String(cString: curl_easy_strerror(failed)))")
        }
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    /// Sends `request` and waits for the answer (bounded by the request timeout, or an abort).
    package func send(_ request: Request) -> Outcome {
        transfer.body.removeAll(keepingCapacity: true)
        transfer.retryAfter = nil
        var headers: UnsafeMutablePointer<curl_slist>?
        // "Expect:" turns off libcurl's 100-continue round trip for large bodies.
        for line in request.headers + ["Expect:"] {
            headers = curl_slist_append(headers, line)
        }
        defer { curl_slist_free_all(headers) }
        _ = ccurl_setopt_pointer(handle, CURLOPT_URL, request.url)
        _ = ccurl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headers)
        // POSTFIELDS makes libcurl POST; another method name replaces the word on the request line only.
        if request.method == "POST" {
            _ = ccurl_setopt_pointer(handle, CURLOPT_CUSTOMREQUEST, nil)
        } else {
            _ = ccurl_setopt_pointer(handle, CURLOPT_CUSTOMREQUEST, request.method)
        }
        let code = request.body.withUnsafeBytes { bytes -> CURLcode in
            _ = ccurl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
            // An empty array may have no storage; libcurl must still get a non-NULL pointer for a 0-byte body.
            _ = ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, bytes.baseAddress ?? UnsafeRawPointer(handle))
            return curl_easy_perform(handle)
        }
        // The body and header pointers are only valid during perform; never leave them behind in the handle.
        _ = ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)
        _ = ccurl_setopt_pointer(handle, CURLOPT_HTTPHEADER, nil)
        guard code == CURLE_OK else {
            return .transportError(String(cString: curl_easy_strerror(code)))
        }
        return .response(status: ccurl_response_code(handle), retryAfter: transfer.retryAfter, body: transfer.body)
    }

    /// The first ``snippetLimit`` bytes of `body` as text, for logs and the dead-letter file.
    package static func snippet(_ body: [UInt8]) -> String {
        String(decoding: body.prefix(snippetLimit), as: UTF8.self)
    }
}

/// `curl_global_init` runs once per process image, the first time a client is created: Swift initialises globals
/// under `swift_once` (pthread_once), so concurrent instances never race on it. It is not thread-safe against
/// other code in the process calling it at the same moment unless libcurl reports CURL_VERSION_THREADSAFE
/// (7.84+); the host itself does not use libcurl. `curl_global_cleanup` is never called: the library is never
/// unloaded.
private let curlGlobalStatus: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// What the callbacks of the current transfer see (passed to libcurl as an unretained pointer).
private final class Transfer {
    let abort: () -> Bool
    let limit: Int
    var body: [UInt8] = []
    var retryAfter: String?

    init(abort: @escaping () -> Bool, limit: Int) {
        self.abort = abort
        self.limit = limit
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> Transfer? {
        context.map { Unmanaged<Transfer>.fromOpaque($0).takeUnretainedValue() }
    }
}

private let progressCallback: ccurl_progress_callback = { context, _, _, _, _ in
    Transfer.from(context)?.abort() == true ? 1 : 0
}

private let bodyCallback: ccurl_data_callback = { data, size, count, context in
    let length = size * count
    if let transfer = Transfer.from(context), let data {
        let keep = min(length, transfer.limit - transfer.body.count)
        if keep > 0 {
            transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: keep))
        }
    }
    return length
}

private let headerCallback: ccurl_data_callback = { data, size, count, context in
    let length = size * count
    guard let transfer = Transfer.from(context), let data else { return length }
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        // A new response (e.g. after a 100 Continue): forget the previous one's headers.
        transfer.retryAfter = nil
    } else if let colon = line.firstIndex(of: ":"),
        line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == "retry-after"
    {
        transfer.retryAfter = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    }
    return length
}
