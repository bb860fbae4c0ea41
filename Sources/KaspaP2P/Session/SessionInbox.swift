import Synchronization

/// The inputs of one ``PeerSession``, in arrival order, from the tasks around it: the peer's messages (from the
/// stream's reader), the timer, the host's release and shutdown. The session's one task takes them with
/// ``next()``; that is the only place the session waits, so no state of the session needs a lock.
///
/// Messages are bounded: at most `capacity` wait here, and the reader waits beyond that (back-pressure reaches the
/// peer through HTTP/2 flow control). Control inputs never wait and are coalesced: one timer fire, one release and
/// one shutdown pending at most.
final class SessionInbox: Sendable {
    /// One input.
    enum Event: Sendable {
        case message(KaspaMessage)
        case streamEnded
        case streamFailed(String)
        case timerFired
        case released
        case shutdown
        /// The host needs this peer's slot for a newcomer (stay mode, full sensor).
        case evicted
    }

    private struct State {
        var queue: [Event] = []
        var queuedMessages = 0
        var consumer: CheckedContinuation<Event, Never>?
        var producer: CheckedContinuation<Void, Never>?
        var timerPending = false
        var releasePending = false
        var shutdownPending = false
        var evictionPending = false
    }

    private let capacity: Int
    private let state = Mutex(State())

    /// Creates an inbox holding at most `capacity` messages.
    init(capacity: Int = 4) {
        self.capacity = capacity
    }

    /// Posts a control input; never waits.
    func post(_ event: Event) {
        let consumer: CheckedContinuation<Event, Never>? = state.withLock { state in
            switch event {
            case .timerFired:
                guard !state.timerPending else { return nil }
                state.timerPending = true
            case .released:
                guard !state.releasePending else { return nil }
                state.releasePending = true
            case .shutdown:
                guard !state.shutdownPending else { return nil }
                state.shutdownPending = true
            case .evicted:
                guard !state.evictionPending else { return nil }
                state.evictionPending = true
            case .message, .streamEnded, .streamFailed:
                break
            }
            if let consumer = state.consumer {
                state.consumer = nil
                Self.taken(event, from: &state)
                return consumer
            }
            state.queue.append(event)
            return nil
        }
        consumer?.resume(returning: event)
    }

    /// Delivers one of the peer's messages, waiting while `capacity` messages are already queued. Returns early
    /// (dropping nothing the session still needs) when the reader is cancelled: the session is over then.
    func deliver(_ message: KaspaMessage) async {
        let event = Event.message(message)
        let (consumer, mustWait): (CheckedContinuation<Event, Never>?, Bool) = state.withLock { state in
            if let consumer = state.consumer {
                state.consumer = nil
                return (consumer, false)
            }
            state.queue.append(event)
            state.queuedMessages += 1
            return (nil, state.queuedMessages >= capacity)
        }
        if let consumer {
            consumer.resume(returning: event)
            return
        }
        guard mustWait else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.queuedMessages < capacity || Task.isCancelled { return true }
                    state.producer = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let producer = state.withLock { state in
                defer { state.producer = nil }
                return state.producer
            }
            producer?.resume()
        }
    }

    /// The next input; waits for one. Only the session's own task calls it.
    func next() async -> Event {
        let (event, producer): (Event?, CheckedContinuation<Void, Never>?) = state.withLock { state in
            guard !state.queue.isEmpty else { return (nil, nil) }
            // Shutdown overtakes what is queued: the stream's failure that cancellation causes comes after it.
            let index =
                state.shutdownPending
                ? (state.queue.firstIndex { if case .shutdown = $0 { true } else { false } } ?? 0) : 0
            let event = state.queue.remove(at: index)
            Self.taken(event, from: &state)
            let producer = state.queuedMessages < capacity ? state.producer : nil
            if producer != nil { state.producer = nil }
            return (event, producer)
        }
        producer?.resume()
        if let event { return event }
        return await withCheckedContinuation { continuation in
            let ready: Event? = state.withLock { state in
                guard !state.queue.isEmpty else {
                    state.consumer = continuation
                    return nil
                }
                let event = state.queue.removeFirst()
                Self.taken(event, from: &state)
                return event
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Book-keeping for an event leaving the inbox: a coalesced control input may be posted again.
    private static func taken(_ event: Event, from state: inout State) {
        switch event {
        case .message: state.queuedMessages -= 1
        case .timerFired: state.timerPending = false
        case .released: break  // once is enough
        case .shutdown, .evicted: break  // once is enough
        case .streamEnded, .streamFailed: break
        }
    }
}
