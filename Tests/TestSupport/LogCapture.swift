public import Logging
import Synchronization

/// Collects log records in memory so tests can assert on them.
public final class LogCapture: Sendable {
    /// One captured log line.
    public struct Record: Sendable {
        /// Its level.
        public let level: Logger.Level
        /// Its message.
        public let message: String
        /// The handler's and the call's metadata, rendered as strings.
        public let metadata: [String: String]
    }

    private let storage = Mutex<[Record]>([])

    /// Creates an empty capture.
    public init() {}

    /// A logger writing into this capture.
    public var logger: Logger {
        Logger(label: "test") { _ in CapturingHandler(capture: self) }
    }

    /// Everything captured so far.
    public var records: [Record] { storage.withLock { $0 } }

    /// Records whose message contains `text` (and, if given, whose `sink` metadata is `sink`).
    public func records(containing text: String, sink: String? = nil) -> [Record] {
        records.filter { $0.message.contains(text) && (sink == nil || $0.metadata["sink"] == sink) }
    }

    fileprivate func append(_ record: Record) {
        storage.withLock { $0.append(record) }
    }
}

private struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        capture.append(
            LogCapture.Record(
                level: event.level,
                message: "\(event.message)",
                metadata: merged.mapValues { "\($0)" }
            )
        )
    }
}
