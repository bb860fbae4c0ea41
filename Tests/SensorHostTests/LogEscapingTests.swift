import Logging
import SensorHost
import Synchronization
import Testing

/// Peer strings reach the text log: control characters in them are escaped, so one log record is one line.
@Suite("Log escaping")
struct LogEscapingTests {
    @Test("Newlines, tabs, carriage returns and other control characters are escaped; other text is unchanged")
    func escapes() {
        #expect(
            LogEscaping.escaped("/kaspad:1.0/\nFAKE LINE\r\t\u{1b}[31m\u{7f}\u{85}é")
                == #"/kaspad:1.0/\nFAKE LINE\r\t\u{1b}[31m\u{7f}\u{85}é"#)
        #expect(LogEscaping.escaped("plain \\ text é") == "plain \\ text é")
        #expect(!LogEscaping.needsEscaping("kaspa-mainnet"))
    }

    @Test("The handler escapes the message, event metadata and the logger's own metadata")
    func handlerEscapes() {
        let recorder = RecordingHandler()
        var logger = Logger(label: "test") { _ in EscapingLogHandler(recorder) }
        logger[metadataKey: "peer"] = "a\nb"
        logger.info("peer said \("x\ny")", metadata: ["user_agent": "u\r\nv", "list": ["p\tq"]])
        let record = recorder.records.first
        #expect(record?.message == #"peer said x\ny"#)
        #expect(record?.metadata["user_agent"] == #"u\r\nv"#)
        #expect(record?.metadata["list"] == #"["p\\tq"]"#)  // an array prints its strings quoted and escaped
        #expect(record?.metadata["peer"] == #"a\nb"#)
    }
}

/// Keeps what reaches it, as strings.
private struct RecordingHandler: LogHandler {
    struct Record: Sendable {
        var message: String
        var metadata: [String: String]
    }

    final class Storage: Sendable {
        let records = Mutex<[Record]>([])
    }

    private let storage = Storage()
    /// What reached the handler so far.
    var records: [Record] { storage.records.withLock { $0 } }
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        storage.records.withLock {
            $0.append(Record(message: event.message.description, metadata: merged.mapValues { "\($0)" }))
        }
    }
}
