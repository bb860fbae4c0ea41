import Foundation
import UnixSignals

/// What ``withSignalCancellation(_:_:)`` returns: the operation's result and the signal that cancelled it.
struct SignalCancelled<Value: Sendable>: Sendable {
    /// What the operation returned (after cancellation too: it is expected to stop gracefully and say so).
    var value: Value
    /// The signal that cancelled it, or `nil` when it ended on its own.
    var signal: UnixSignal?

    /// The shell's exit status for a process stopped by `signal`: 128 + its number (130 for SIGINT).
    var exitCode: Int32? { signal.map { 128 + $0.rawValue } }
}

/// Runs `operation` and cancels it when one of `signals` arrives (trapped, so the default action that would kill
/// the process without saving anything does not run). The operation should stop gracefully on cancellation and
/// return. A second signal means "stop now": the process exits at once with 128 + the signal's number.
func withSignalCancellation<Value: Sendable>(
    _ signals: [UnixSignal] = [.sigint, .sigterm],
    _ operation: @escaping @Sendable () async throws -> Value
) async throws -> SignalCancelled<Value> {
    let trapped = await UnixSignalsSequence(trapping: signals)
    let work = Task { try await operation() }
    let watcher = Task { () -> UnixSignal? in
        var iterator = trapped.makeAsyncIterator()
        guard let first = await iterator.next() else { return nil }  // nil: cancelled, no signal came
        work.cancel()
        if let second = await iterator.next() {
            FileHandle.standardError.write(Data("\nsecond \(second): stopping at once\n".utf8))
            exit(128 + second.rawValue)
        }
        return first
    }
    let value: Value
    do {
        value = try await withTaskCancellationHandler {
            try await work.value
        } onCancel: {
            work.cancel()
        }
    } catch {
        watcher.cancel()
        throw error
    }
    watcher.cancel()
    return SignalCancelled(value: value, signal: await watcher.value)
}
