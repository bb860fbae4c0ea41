import Foundation

/// One accepted connection of ``HTTPReceiver``: reads a request (head and Content-Length body), sends text.
struct HTTPConnection {
    /// The connected socket.
    let fd: Int32

    /// Reads one request; nil if the peer closed first or `stop` became true. Waits at most 10 s.
    func readRequest(stop: () -> Bool) -> (head: String, body: [UInt8])? {
        var data: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(10)
        var headEnd: Int?
        var contentLength = 0
        while ContinuousClock.now < deadline && !stop() {
            if let end = headEnd, data.count >= end + contentLength {
                let head = String(decoding: data[..<end], as: UTF8.self)
                return (head, Array(data[end..<(end + contentLength)]))
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

    /// Waits until the peer closes the connection (or `stop`).
    func waitForClose(stop: () -> Bool) {
        while !stop() {
            guard receive() != nil else { return }
        }
    }

    /// Sends `text` entirely (best effort).
    func send(_ text: String) {
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
