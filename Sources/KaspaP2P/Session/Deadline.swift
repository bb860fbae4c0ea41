/// The operation given to ``withDeadline(_:operation:)`` did not finish in time.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    /// How long the operation was given.
    public var limit: Duration
    /// `no result within <limit>`.
    public var description: String { "no result within \(limit)" }
}

/// Runs `operation`, cancelling it and throwing ``DeadlineExceeded`` if it takes longer than `limit`.
public func withDeadline<Result: Sendable>(
    _ limit: Duration,
    operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw DeadlineExceeded(limit: limit)
        }
        return result
    }
}
