import CCurl
import Foundation
import Synchronization

/// POSTs request bodies with one reused libcurl easy handle (keep-alive connections survive between requests).
/// Used by the delivery thread only. No signals (`CURLOPT_NOSIGNAL`), no redirects, http and https only.
final class HTTPClient {
    /// The outcome of one POST.
    enum Outcome {
        /// The server answered: its status, its `Retry-After` header (if any) and the first bytes of the body.
        case response(status: Int, retryAfter: String?, snippet: String)
        /// No answer: connection refused, DNS, TLS, timeout or abort; libcurl's explanation.
        case transportError(String)
    }

    /// The most response-body bytes kept for logs and the dead-letter file.
    static let snippetLimit = 512

    private let handle: UnsafeMutableRawPointer
    private var headers: UnsafeMutablePointer<curl_slist>?
    private let transfer: Transfer

    /// Prepares a handle for `settings`; `abort` (checked by libcurl's progress callback several times a second)
    /// ends a transfer in flight. Throws a reason when libcurl cannot be set up.
    init(settings: HTTPExportSettings, abort: StopFlag) throws(SettingsError) {
        guard curlGlobalStatus == CURLE_OK else {
            throw SettingsError("curl_global_init failed: \(String(cString: curl_easy_strerror(curlGlobalStatus)))")
        }
        guard let handle = curl_easy_init() else { throw SettingsError("curl_easy_init failed") }
        self.handle = handle
        transfer = Transfer(abort: abort)
        var lines = ["Content-Type: application/json", "Expect:", "User-Agent: kaspa-sensor-http-export/1.0"]
        if settings.gzip {
            lines.append("Content-Encoding: gzip")
        }
        if let auth = settings.authHeader {
            lines.append(auth)
        }
        for line in lines {
            headers = curl_slist_append(headers, line)
        }
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        let results = [
            ccurl_setopt_pointer(handle, CURLOPT_URL, settings.endpoint),
            ccurl_setopt_pointer(handle, CURLOPT_PROTOCOLS_STR, "http,https"),
            ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1),
            ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0),
            ccurl_setopt_long(handle, CURLOPT_POST, 1),
            ccurl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headers),
            ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, settings.connectTimeoutMilliseconds),
            ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, settings.requestTimeoutMilliseconds),
            ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, settings.tlsVerify ? 1 : 0),
            ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, settings.tlsVerify ? 2 : 0),
            ccurl_setopt_long(handle, CURLOPT_NOPROGRESS, 0),
            ccurl_setopt_progress_callback(handle, progressCallback),
            ccurl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context),
            ccurl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, bodyCallback),
            ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, context),
            ccurl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, headerCallback),
            ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, context),
        ]
        if let failed = results.first(where: { $0 != CURLE_OK }) {
            curl_slist_free_all(headers)
            curl_easy_cleanup(handle)
            throw SettingsError("libcurl refused an option: \(String(cString: curl_easy_strerror(failed)))")
        }
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headers)
    }

    /// POSTs `body` and waits for the answer (bounded by the request timeout, or an abort).
    func post(_ body: [UInt8]) -> Outcome {
        transfer.snippet.removeAll(keepingCapacity: true)
        transfer.retryAfter = nil
        let code = body.withUnsafeBytes { bytes -> CURLcode in
            _ = ccurl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
            _ = ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, bytes.baseAddress)
            return curl_easy_perform(handle)
        }
        // The body pointer is only valid during perform; never leave it behind in the handle.
        _ = ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)
        guard code == CURLE_OK else {
            return .transportError(String(cString: curl_easy_strerror(code)))
        }
        return .response(
            status: ccurl_response_code(handle),
            retryAfter: transfer.retryAfter,
            snippet: String(decoding: transfer.snippet, as: UTF8.self)
        )
    }
}

/// `curl_global_init` runs once per process, the first time a client is created: Swift initialises globals
/// under `swift_once` (pthread_once), so concurrent instances never race on it. It is not thread-safe against
/// other code in the process calling it at the same moment unless libcurl reports CURL_VERSION_THREADSAFE
/// (7.84+); the host itself does not use libcurl. `curl_global_cleanup` is never called: the library is never
/// unloaded.
private let curlGlobalStatus: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// Set once to stop the delivery thread; also aborts a request in flight (via libcurl's progress callback).
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    /// Whether ``set()`` was called.
    var isSet: Bool { flag.load(ordering: .acquiring) }

    /// Creates a flag that is not set.
    init() {}

    /// Sets the flag.
    func set() {
        flag.store(true, ordering: .releasing)
    }
}

/// What the callbacks of the current transfer see (passed to libcurl as an unretained pointer).
private final class Transfer {
    let abort: StopFlag
    var snippet: [UInt8] = []
    var retryAfter: String?

    init(abort: StopFlag) {
        self.abort = abort
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> Transfer? {
        context.map { Unmanaged<Transfer>.fromOpaque($0).takeUnretainedValue() }
    }
}

private let progressCallback: ccurl_progress_callback = { context, _, _, _, _ in
    Transfer.from(context)?.abort.isSet == true ? 1 : 0
}

private let bodyCallback: ccurl_data_callback = { data, size, count, context in
    let length = size * count
    if let transfer = Transfer.from(context), let data {
        let keep = min(length, HTTPClient.snippetLimit - transfer.snippet.count)
        if keep > 0 {
            transfer.snippet.append(contentsOf: UnsafeRawBufferPointer(start: data, count: keep))
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
