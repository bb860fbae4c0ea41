/// The event journal could not be opened. The description names the directory, the operation and the system
/// error, e.g. `event journal /var/lib/sensor/journal: cannot create the directory: Permission denied`.
public struct JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The journal directory.
    public var directory: String
    /// What failed and what to do about it.
    public var message: String

    /// Creates an error for `directory`.
    public init(directory: String, message: String) {
        self.directory = directory
        self.message = message
    }

    /// `event journal <directory>: <message>`.
    public var description: String { "event journal \(directory): \(message)" }
}
