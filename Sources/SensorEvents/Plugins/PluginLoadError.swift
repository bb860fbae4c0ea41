/// A sink plugin could not be loaded or its instance could not be created. The description names the sink, the
/// library file and what to do about it, e.g.
/// `sink "sqlite" (/opt/sensor/libSQLiteSink.so): cannot open the library: ... undefined symbol: ...`.
public struct PluginLoadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; new codes may be added, so `switch` over it with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case fileNotFound = "file not found"
            case openFailed = "open failed"
            case missingEntryPoint = "missing entry point"
            case incompatibleABI = "incompatible ABI"
            case invalidDescriptor = "invalid descriptor"
            case badConfig = "bad config"
            case createFailed = "create failed"
            case journalRequired = "journal required"
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) {
            self.wrapped = wrapped
        }

        /// The library file does not exist in any of the places it was looked for.
        public static let fileNotFound = Code(.fileNotFound)
        /// `dlopen` failed: not a shared library, wrong architecture, or missing dependencies.
        public static let openFailed = Code(.openFailed)
        /// The library does not export `sensor_plugin_query_v1`: it is not a sensor sink plugin.
        public static let missingEntryPoint = Code(.missingEntryPoint)
        /// The plugin was built for another major version of the plugin ABI (or refused this host's version).
        public static let incompatibleABI = Code(.incompatibleABI)
        /// The descriptor is malformed: wrong magic, too small, or a required callback is missing.
        public static let invalidDescriptor = Code(.invalidDescriptor)
        /// `create()` returned `SENSOR_BAD_CONFIG`: the `[sink.config]` table is wrong (the plugin logged why).
        public static let badConfig = Code(.badConfig)
        /// `create()` failed with another status.
        public static let createFailed = Code(.createFailed)
        /// The plugin needs the host's journal (`SENSOR_PLUGIN_NEEDS_JOURNAL`) and the journal is off.
        public static let journalRequired = Code(.journalRequired)

        /// A short name for the code, e.g. `incompatible ABI`.
        public var description: String { wrapped.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The `[[sink]]` name the library was loaded for.
    public var sinkName: String
    /// The library file (the resolved path, or the name as configured when it was not found).
    public var path: String
    /// What happened and what to do, including the `dlerror()` text where there is one.
    public var message: String

    /// Creates an error.
    public init(code: Code, sinkName: String, path: String, message: String) {
        self.code = code
        self.sinkName = sinkName
        self.path = path
        self.message = message
    }

    /// `sink "<name>" (<path>): <message>`.
    public var description: String {
        "sink \"\(sinkName)\" (\(path)): \(message)"
    }
}
