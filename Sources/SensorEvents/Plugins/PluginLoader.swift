import Foundation
import SensorPluginAPI
import Synchronization

/// Loads sink plugin libraries with `dlopen` and validates their descriptors. Each distinct file is opened once
/// and its handle kept for the life of the process (never `dlclose`d: images containing Swift cannot be unloaded).
public final class PluginLoader: Sendable {
    private let loaded = Mutex<[String: LoadedPlugin]>([:])

    /// Creates a loader with an empty cache.
    public init() {}

    /// The folder of the running executable (from `/proc/self/exe`), where bare library names are looked up first.
    public static func executableDirectory() -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// Loads the library of `sink`, trying ``SinkConfiguration/libraryCandidates(executableDirectory:)`` in order.
    public func load(
        _ sink: SinkConfiguration,
        executableDirectory: String? = PluginLoader.executableDirectory()
    ) throws(PluginLoadError) -> LoadedPlugin {
        let candidates = sink.libraryCandidates(executableDirectory: executableDirectory)
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw PluginLoadError(
                code: .fileNotFound,
                sinkName: sink.name,
                path: sink.library,
                message: "library not found; looked for \(candidates.joined(separator: ", ")). Check `library` "
                    + "in plugins.toml (absolute, relative to the plugins.toml folder, or a bare file name)"
            )
        }
        return try load(path: path, sinkName: sink.name)
    }

    /// Loads and validates the library at `path` for the sink called `sinkName` (used in error messages).
    public func load(path: String, sinkName: String) throws(PluginLoadError) -> LoadedPlugin {
        func failure(_ code: PluginLoadError.Code, _ message: String) -> PluginLoadError {
            PluginLoadError(code: code, sinkName: sinkName, path: path, message: message)
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw failure(.fileNotFound, "library not found")
        }
        let key = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        if let plugin = loaded.withLock({ $0[key] }) {
            return plugin
        }
        // Unsafe 1: the handle is deliberately never passed to dlclose, so every pointer the library hands out
        // (descriptor, function pointers, static strings) stays valid for the life of the process.
        guard let handle = dlopen(key, RTLD_NOW | RTLD_LOCAL) else {
            throw failure(.openFailed, "cannot open the library: \(Self.lastDynamicLoaderError())")
        }
        guard let symbol = dlsym(handle, SENSOR_PLUGIN_QUERY_V1_SYMBOL) else {
            throw failure(
                .missingEntryPoint,
                "not a sensor sink plugin: it does not export \(SENSOR_PLUGIN_QUERY_V1_SYMBOL) "
                    + "(\(Self.lastDynamicLoaderError()))"
            )
        }
        // Unsafe 2: the symbol's type is fixed by the ABI (sensor_plugin_query_fn in sensor_plugin.h).
        let query = unsafeBitCast(symbol, to: sensor_plugin_query_fn.self)
        let hostMajor = UInt16(SENSOR_ABI_MAJOR)
        let hostMinor = UInt16(SENSOR_ABI_MINOR)
        guard let raw = query(hostMajor, hostMinor).map(UnsafeRawPointer.init) else {
            throw failure(
                .incompatibleABI,
                "\(SENSOR_PLUGIN_QUERY_V1_SYMBOL)(\(hostMajor), \(hostMinor)) returned NULL: the plugin does not "
                    + "support this host's plugin ABI \(hostMajor).\(hostMinor); rebuild it against this host's "
                    + "sensor_plugin.h"
            )
        }
        // Unsafe 3: the first 12 bytes (struct_size, magic, abi_major, abi_minor) are read one by one before
        // trusting struct_size; they are present in every ABI version.
        let structSize = raw.loadUnaligned(as: UInt32.self)
        let magic = raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        guard magic == SENSOR_PLUGIN_MAGIC else {
            throw failure(
                .invalidDescriptor,
                "descriptor magic is 0x\(String(magic, radix: 16)), expected 0x\(String(SENSOR_PLUGIN_MAGIC, radix: 16))"
                    + " ('SNSR'): not a sensor sink plugin, or a corrupt build"
            )
        }
        let pluginMajor = raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
        let pluginMinor = raw.loadUnaligned(fromByteOffset: 10, as: UInt16.self)
        guard pluginMajor == hostMajor else {
            throw failure(
                .incompatibleABI,
                "the plugin was built for plugin ABI \(pluginMajor).\(pluginMinor), but this host supports ABI "
                    + "\(hostMajor).\(hostMinor); rebuild the plugin against this host's sensor_plugin.h"
            )
        }
        guard structSize >= Self.minimumDescriptorSize else {
            throw failure(
                .invalidDescriptor,
                "descriptor struct_size is \(structSize) bytes, smaller than the ABI 1.0 descriptor "
                    + "(\(Self.minimumDescriptorSize) bytes)"
            )
        }
        // Unsafe 4: copy min(struct_size, sizeof) bytes into zeroed memory; members the plugin's (older) ABI
        // minor lacks stay zero, i.e. NULL callbacks.
        var descriptor = sensor_plugin()
        withUnsafeMutableBytes(of: &descriptor) { destination in
            let count = min(Int(structSize), destination.count)
            destination.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: count))
        }
        let missing = [
            descriptor.create == nil ? "create" : nil,
            descriptor.write_batch == nil ? "write_batch" : nil,
            descriptor.destroy == nil ? "destroy" : nil,
        ].compactMap { $0 }
        guard missing.isEmpty else {
            throw failure(
                .invalidDescriptor,
                "the descriptor lacks required callbacks: \(missing.joined(separator: ", "))"
            )
        }
        let plugin = LoadedPlugin(path: key, handle: handle, descriptor: descriptor)
        return loaded.withLock { cache in
            if let existing = cache[key] {
                return existing
            }
            cache[key] = plugin
            return plugin
        }
    }

    /// The size of an ABI 1.0 descriptor: everything up to and including `destroy`.
    static let minimumDescriptorSize: UInt32 = {
        let offset = MemoryLayout<sensor_plugin>.offset(of: \sensor_plugin.destroy) ?? 0
        return UInt32(offset + MemoryLayout<UnsafeRawPointer>.size)
    }()

    private static func lastDynamicLoaderError() -> String {
        dlerror().map { String(cString: $0) } ?? "no details from the dynamic loader"
    }
}
