public import Logging

/// A text log handler that escapes control characters in the message and in every metadata value, so that
/// nothing a peer sends (its user agent, network name, Reject reason, a hostile address string) can end a log
/// line, forge another one or drive a terminal. A newline becomes `\n`, a tab `\t`, a carriage return `\r` and
/// any other control character (C0, DEL, C1) `\u{…}`; a backslash stays as it is.
///
/// It wraps another handler (``StreamLogHandler`` in the executable) and changes nothing else.
public struct EscapingLogHandler<Wrapped: LogHandler>: LogHandler {
    private var wrapped: Wrapped

    /// Escapes what reaches `wrapped`.
    public init(_ wrapped: Wrapped) {
        self.wrapped = wrapped
    }

    /// The wrapped handler's metadata provider.
    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    /// The handler's own metadata, escaped when set.
    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(LogEscaping.escaped) }
    }

    /// The wrapped handler's level.
    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    /// One metadata value, escaped when set.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(LogEscaping.escaped) }
    }

    /// Escapes the event's message and metadata and hands it on.
    public func log(event: LogEvent) {
        var event = event
        let message = event.message.description
        if LogEscaping.needsEscaping(message) {
            event.message = Logger.Message(stringLiteral: LogEscaping.escaped(message))
        }
        event.metadata = event.metadata?.mapValues(LogEscaping.escaped)
        wrapped.log(event: event)
    }
}

/// The escaping of ``EscapingLogHandler``.
public enum LogEscaping {
    /// True when `text` holds a control character.
    public static func needsEscaping(_ text: String) -> Bool {
        text.unicodeScalars.contains(where: isControl)
    }

    /// `text` with every control character escaped (unchanged when there is none).
    public static func escaped(_ text: String) -> String {
        guard needsEscaping(text) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": out.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": out.append(contentsOf: #"\t"#.unicodeScalars)
            case _ where isControl(scalar):
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// `value` with every string in it escaped.
    public static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(escaped(text))
        case .stringConvertible(let convertible): .string(escaped(convertible.description))
        case .array(let values): .array(values.map(escaped))
        case .dictionary(let values): .dictionary(values.mapValues(escaped))
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
    }
}
