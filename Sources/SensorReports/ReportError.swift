/// A report could not be made: which file, and why.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, naming the file or argument.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
