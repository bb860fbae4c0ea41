import KaspaP2P
import NIOCore
import Synchronization

/// The listeners' open TCP connections and their open streams: it closes a connection that has had no stream
/// for `idleTimeout` since its last one ended, and closes them all at the end of the shutdown grace period.
///
/// grpc-swift-nio-transport's own idle timer (`maxIdleTime`) is not used: its timer holds the connection's
/// `ServerConnectionManagementHandler` strongly, and in 2.9.2 `channelInactive` releases the max-age timer twice
/// instead of the idle one, so every connection leaked its handler, its timer and its stream set (about 1 KB per
/// finished session, benchmark figure 2d). The connection before its first stream belongs to
/// ``PreStreamWatcher``.
///
/// A graceful HTTP/2 shutdown waits for the peer: it sends GOAWAY and lets open streams finish. A peer that
/// ignores GOAWAY and keeps a stream open (or the connection, after its stream ended) would keep the server
/// running for ever; closing every connection when the grace is over makes SIGTERM end the process in time.
final class OpenConnections: Sendable {
    private struct Connection {
        var channel: any Channel
        var openStreams = 0
        /// Streams admitted and sessions the service started for them: a stream that ended before grpc-swift
        /// called the service (reset at once, a first message that cannot be decoded or is too large) leaves the
        /// first ahead of the second when the connection closes.
        var streamsAdmitted = 0
        var sessionsStarted = 0
        /// `remote|local`, as grpc-swift's peer descriptions name the connection to the service.
        var peers: String?
        /// The pending idle close: cancelled when a stream opens or the connection closes (it holds the channel).
        var idleClose: Scheduled<Void>?
    }

    private struct State {
        var connections: [ObjectIdentifier: Connection] = [:]
        var byPeers: [String: ObjectIdentifier] = [:]
        var closing = false
    }

    private let idleTimeout: TimeAmount
    private let state = Mutex(State())
    private let streamsWithoutSession: @Sendable (_ remote: PeerAddress?, _ local: PeerAddress?, _ count: Int) -> Void

    /// Tracks connections, closing one `idleTimeout` after its last stream ended; when a connection closes,
    /// `streamsWithoutSession` hears of the streams on it that ended before their session started.
    init(
        idleTimeout: TimeAmount,
        streamsWithoutSession: @escaping @Sendable (PeerAddress?, PeerAddress?, Int) -> Void = { _, _, _ in }
    ) {
        self.idleTimeout = idleTimeout
        self.streamsWithoutSession = streamsWithoutSession
    }

    private static func key(remote: PeerAddress?, local: PeerAddress?) -> String? {
        guard let remote, let local else { return nil }
        return "\(remote)|\(local)"
    }

    /// The service started a session on the connection grpc-swift describes with these peer strings.
    func sessionStarted(remotePeer: String, localPeer: String) {
        guard
            let key = Self.key(
                remote: RemotePeerDescription.parse(remotePeer), local: RemotePeerDescription.parse(localPeer))
        else { return }
        state.withLock { state in
            guard let id = state.byPeers[key] else { return }
            state.connections[id]?.sessionsStarted += 1
        }
    }

    /// Connections now open.
    var count: Int { state.withLock { $0.connections.count } }

    /// Tracks `channel` until it closes; closes it at once when the grace is already over.
    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let remote = channel.remoteAddress.flatMap(PeerAddress.init(socketAddress:))
        let local = channel.localAddress.flatMap(PeerAddress.init(socketAddress:))
        let peers = Self.key(remote: remote, local: local)
        let closeNow = state.withLock { state -> Bool in
            if state.closing { return true }
            state.connections[id] = Connection(channel: channel, peers: peers)
            if let peers { state.byPeers[peers] = id }
            return false
        }
        if closeNow {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            let entry = state.withLock { state -> Connection? in
                let entry = state.connections.removeValue(forKey: id)
                if let peers = entry?.peers, state.byPeers[peers] == id { state.byPeers[peers] = nil }
                return entry
            }
            entry?.idleClose?.cancel()
            if let entry, entry.streamsAdmitted > entry.sessionsStarted {
                streamsWithoutSession(remote, local, entry.streamsAdmitted - entry.sessionsStarted)
            }
        }
    }

    /// The streams open on `connection` now.
    func openStreams(on connection: any Channel) -> Int {
        state.withLock { $0.connections[ObjectIdentifier(connection)]?.openStreams ?? 0 }
    }

    /// A stream opened on one of the connections (called on the connection's event loop): it is no longer idle.
    func streamOpened(_ stream: any Channel) {
        guard let connection = stream.parent else { return }
        let id = ObjectIdentifier(connection)
        let idleClose = state.withLock { state -> Scheduled<Void>? in
            state.connections[id]?.openStreams += 1
            state.connections[id]?.streamsAdmitted += 1
            defer { state.connections[id]?.idleClose = nil }
            return state.connections[id]?.idleClose
        }
        idleClose?.cancel()
        stream.closeFuture.whenComplete { [self] _ in
            streamClosed(on: connection)
        }
    }

    /// The last open stream of a connection closed: it is closed after `idleTimeout` unless a stream opens first.
    private func streamClosed(on connection: any Channel) {
        let id = ObjectIdentifier(connection)
        let idle = state.withLock { state -> Bool in
            guard state.connections[id] != nil else { return false }
            state.connections[id]?.openStreams -= 1
            return state.connections[id]?.openStreams == 0
        }
        guard idle else { return }
        let idleClose = connection.eventLoop.scheduleTask(in: idleTimeout) { [self] in
            let stillIdle = state.withLock { $0.connections[id]?.openStreams == 0 }
            if stillIdle { connection.close(promise: nil) }
        }
        // Kept only while the connection is still open and idle; otherwise it was closed or a stream opened since.
        let kept = state.withLock { state -> Bool in
            guard state.connections[id]?.openStreams == 0, state.connections[id]?.idleClose == nil else { return false }
            state.connections[id]?.idleClose = idleClose
            return true
        }
        if !kept { idleClose.cancel() }
    }

    /// Closes every open connection, and every one added from now on.
    func closeAll() {
        let channels = state.withLock { state -> [any Channel] in
            state.closing = true
            return state.connections.values.map(\.channel)
        }
        for channel in channels {
            channel.close(promise: nil)
        }
    }
}
