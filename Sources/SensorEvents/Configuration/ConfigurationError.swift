/// A configuration file could not be used. The message names the file, the key and why, so a user can fix it.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file that was read, as given by the user (or the environment variable that was read).
    public var file: String
    /// The dotted key path, e.g. `probing.timeout_ms`; empty when the whole file is at fault.
    public var key: String
    /// Why the value cannot be used and, where possible, what would be valid.
    public var reason: String

    /// Creates an error.
    public init(file: String, key: String, reason: String) {
        self.file = file
        self.key = key
        self.reason = reason
    }

    /// `sensor.toml: probing.timeout_ms: must be between 100 and 120000, got 0`.
    public var description: String {
        key.isEmpty ? "\(file): \(reason)" : "\(file): \(key): \(reason)"
    }
}
