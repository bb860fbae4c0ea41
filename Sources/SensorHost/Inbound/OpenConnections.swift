import NIOCore
import Synchronization

/// The listeners' open TCP connections, so that the end of the shutdown grace period can close them all.
///
/// A graceful HTTP/2 shutdown waits for the peer: it sends GOAWAY and lets open streams finish. A peer that
/// ignores GOAWAY and keeps a stream open (or the connection, after its stream ended) would keep the server
/// running for ever; closing every connection when the grace is over makes SIGTERM end the process in time.
final class OpenConnections: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closing = false
    }

    private let state = Mutex(State())

    /// Connections now open.
    var count: Int { state.withLock { $0.channels.count } }

    /// Tracks `channel` until it closes; closes it at once when the grace is already over.
    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let closeNow = state.withLock { state -> Bool in
            if state.closing { return true }
            state.channels[id] = channel
            return false
        }
        if closeNow {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.channels.removeValue(forKey: id) }
        }
    }

    /// Closes every open connection, and every one added from now on.
    func closeAll() {
        let channels = state.withLock { state -> [any Channel] in
            state.closing = true
            return Array(state.channels.values)
        }
        for channel in channels {
            channel.close(promise: nil)
        }
    }
}
