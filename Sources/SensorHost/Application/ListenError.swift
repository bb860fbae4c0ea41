/// A listener could not be opened; says which one and where, so the operator can free the port or fix the
/// configuration key.
public struct ListenError: Error, Sendable, CustomStringConvertible {
    /// What was to listen: `Kaspa peers` or `metrics`.
    public var role: String
    /// The address from the configuration.
    public var address: String
    /// The configuration key that sets it.
    public var key: String
    /// The system's reason.
    public var reason: String

    /// `cannot listen for Kaspa peers on 0.0.0.0:16111 ([network] listen_address): Address already in use`.
    public var description: String {
        "cannot listen for \(role) on \(address) (\(key)): \(reason)"
    }
}
