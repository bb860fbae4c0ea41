import Foundation

/// One accepted connection of a ``LoopbackHTTPServer``: reads a request (head and Content-Length body), sends
/// text. Independent of libcurl: POSIX sockets only.
public struct HTTPConnection: Sendable {
    /// One request as read off the wire.
    public struct Request: Sendable {
        /// When it was fully read.
        public let received: ContinuousClock.Instant
        /// The method, e.g. `POST`.
        public let method: String
        /// The request target: path and query, e.g. `/v1/projects/p/databases/(default)/documents:batchWrite`.
        public let target: String
        /// Header fields, names lowercased (the last of repeated ones).
        public let headers: [String: String]
        /// The body as received.
        public let body: [UInt8]

        /// The target's path, without the query.
        public var path: String { String(target.prefix { $0 != "?" }) }

        /// The target's query items (percent-decoded).
        public var query: [String: String] {
            guard let mark = target.firstIndex(of: "?") else { return [:] }
            return Dictionary(
                target[target.index(after: mark)...].split(separator: "&").map { item in
                    let parts = item.split(separator: "=", maxSplits: 1).map {
                        String($0).removingPercentEncoding ?? String($0)
                    }
                    return (parts[0], parts.count > 1 ? parts[1] : "")
                },
                uniquingKeysWith: { $1 }
            )
        }
    }

    /// The connected socket.
    let fd: Int32
    /// Whether the server is stopping.
    let isStopped: @Sendable () -> Bool

    /// Reads one request; nil if the peer closed first or the server stopped. Waits at most 10 s.
    func readRequest() -> Request? {
        var data: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(10)
        var headEnd: Int?
        var contentLength = 0
        while ContinuousClock.now < deadline && !isStopped() {
            if let end = headEnd, data.count >= end + contentLength {
                return Self.parse(head: String(decoding: data[..<end], as: UTF8.self), body: data[end...])
            }
            guard let chunk = receive() else { return nil }
            data += chunk
            if headEnd == nil, let range = findHeadEnd(data) {
                headEnd = range
                let head = String(decoding: data[..<range], as: UTF8.self).lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
                    contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        return nil
    }

    /// Waits until the peer closes the connection (or the server stops).
    public func waitForClose() {
        while !isStopped() {
            guard receive() != nil else { return }
        }
    }

    /// Sends `text` entirely (best effort).
    public func send(_ text: String) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { return }
            done += sent
        }
    }

    /// Sends a complete response with `Connection: close`.
    public func respond(status: Int, headers: [String] = [], body: String = "") {
        let lines = ["HTTP/1.1 \(status) Test", "Content-Length: \(body.utf8.count)", "Connection: close"] + headers
        send(lines.joined(separator: "\r\n") + "\r\n\r\n" + body)
    }

    private static func parse(head: String, body: ArraySlice<UInt8>) -> Request {
        let lines = head.split(separator: "\r\n")
        let requestLine = lines.first?.split(separator: " ") ?? []
        let headers = Dictionary(
            lines.dropFirst().compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (
                    line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                )
            },
            uniquingKeysWith: { $1 }
        )
        return Request(
            received: .now,
            method: requestLine.first.map(String.init) ?? "",
            target: requestLine.count > 1 ? String(requestLine[1]) : "",
            headers: headers,
            body: Array(body)
        )
    }

    /// Bytes received within 50 ms ([] if none), or nil once the peer has closed.
    private func receive() -> [UInt8]? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 50) > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Array(buffer[..<count])
    }

    private func findHeadEnd(_ data: [UInt8]) -> Int? {
        guard data.count >= 4 else { return nil }
        for index in 0...(data.count - 4)
        where data[index] == 13 && data[index + 1] == 10 && data[index + 2] == 13 && data[index + 3] == 10 {
            return index + 4
        }
        return nil
    }
}
