public import SensorPluginAPI

/// A validated sink plugin library: its `dlopen` handle (never closed) and a private copy of its descriptor.
///
/// Safe to share between threads: every stored property is immutable after `init`, the descriptor copy is owned
/// by this object, and the function and string pointers it holds point into the library image, which is never
/// unloaded (images containing Swift cannot be).
public final class LoadedPlugin: @unchecked Sendable {
    /// The resolved library path.
    public let path: String
    /// The plugin's short name from its descriptor (e.g. `sqlite`).
    public let name: String
    /// The plugin's own version string.
    public let version: String
    /// The toolchain the plugin reports it was built with (diagnostics only).
    public let builtWith: String
    /// The ABI version the plugin was compiled against.
    public let abiVersion: (major: UInt16, minor: UInt16)
    /// The descriptor, copied as `min(struct_size, sizeof)` bytes into zeroed memory, so callbacks appended in
    /// later ABI minors than the plugin's read as NULL.
    public let descriptor: sensor_plugin
    /// The `dlopen` handle; kept for the life of the process.
    let handle: UnsafeMutableRawPointer

    /// Wraps a validated descriptor copy and the handle it came from.
    init(path: String, handle: UnsafeMutableRawPointer, descriptor: sensor_plugin) {
        self.path = path
        self.handle = handle
        self.descriptor = descriptor
        self.name = descriptor.name.map { String(cString: $0) } ?? ""
        self.version = descriptor.version.map { String(cString: $0) } ?? ""
        self.builtWith = descriptor.built_with.map { String(cString: $0) } ?? ""
        self.abiVersion = (descriptor.abi_major, descriptor.abi_minor)
    }

    /// Whether the plugin offers `flush` (it is optional).
    public var hasFlush: Bool { descriptor.flush != nil }

    /// Whether the plugin asks for event JSON with `host->event_json` instead of receiving it with every event
    /// (`SENSOR_PLUGIN_JSON_ON_REQUEST`).
    public var wantsJSONOnRequest: Bool { descriptor.flags & SENSOR_PLUGIN_JSON_ON_REQUEST != 0 }

    /// Whether the plugin keeps no events of its own and relies on the host's journal for durability
    /// (`SENSOR_PLUGIN_NEEDS_JOURNAL`, ABI 1.2: a bit reserved in earlier minors is not read as this flag).
    public var needsJournal: Bool {
        abiVersion.minor >= 2 && descriptor.flags & SENSOR_PLUGIN_NEEDS_JOURNAL != 0
    }
}
