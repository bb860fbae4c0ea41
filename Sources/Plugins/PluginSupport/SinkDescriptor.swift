import Foundation
package import SensorPluginAPI

/// What a Swift plugin's instance does for the host's calls after `create`. The host makes every call of one
/// instance from one thread, so an instance needs no locks.
package protocol SinkInstance: AnyObject {
    /// `write_batch`: delivers `count` events and answers a `SENSOR_*` status.
    func write(_ events: UnsafePointer<UnsafePointer<sensor_event>?>, count: Int) -> Int32
    /// `flush`: makes what was accepted durable (called only when the descriptor has a flush callback).
    func flush() -> Int32
}

extension SinkInstance {
    /// Nothing to flush: the sink stores or delivers each batch before answering.
    package func flush() -> Int32 { SENSOR_OK }
}

/// The static `sensor_plugin` descriptor of a Swift sink. The callbacks are C function pointers, which capture
/// nothing: each instance travels as a retained box around its ``SinkInstance``, and only `create` is the plugin's
/// own (it names the instance type).
package enum SinkDescriptor {
    /// The type of the descriptor's `create` callback.
    package typealias Create =
        @convention(c) (
            UnsafePointer<sensor_host_api>?, sensor_str, UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        ) -> Int32

    /// A descriptor that is never freed (the ABI requires it and its strings to live for the rest of the process).
    /// `flushes`: whether the host should call the instance's ``SinkInstance/flush()``.
    package static func make(
        name: String, version: String, flags: UInt32, flushes: Bool, create: Create
    ) -> UnsafeMutablePointer<sensor_plugin> {
        let pointer = UnsafeMutablePointer<sensor_plugin>.allocate(capacity: 1)
        pointer.initialize(
            to: sensor_plugin(
                struct_size: sensor_plugin_struct_size(),
                magic: SENSOR_PLUGIN_MAGIC,
                abi_major: UInt16(SENSOR_ABI_MAJOR),
                abi_minor: UInt16(SENSOR_ABI_MINOR),
                flags: flags,
                name: UnsafePointer(strdup(name)),
                version: UnsafePointer(strdup(version)),
                built_with: UnsafePointer(strdup(builtWith)),
                create: create,
                write_batch: { instance, events, count in
                    guard let instance, let events else { return SENSOR_ERROR }
                    return Unmanaged<Box>.fromOpaque(instance).takeUnretainedValue().instance.write(
                        events, count: count)
                },
                flush: flushes
                    ? { instance, _ in
                        guard let instance else { return SENSOR_ERROR }
                        return Unmanaged<Box>.fromOpaque(instance).takeUnretainedValue().instance.flush()
                    } : nil,
                destroy: { instance in
                    guard let instance else { return }
                    Unmanaged<Box>.fromOpaque(instance).release()
                }
            )
        )
        return pointer
    }

    /// The body of a plugin's `create` callback: runs `make` and hands the host the instance it made, or the
    /// status it failed with (after it logged why).
    package static func create(
        host: UnsafePointer<sensor_host_api>?,
        config: sensor_str,
        instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
        make: (UnsafePointer<sensor_host_api>, sensor_str) -> Result<any SinkInstance, Status>
    ) -> Int32 {
        guard let host, let instance else { return SENSOR_FATAL }
        switch make(host, config) {
        case .success(let made):
            instance.pointee = Unmanaged.passRetained(Box(made)).toOpaque()
            return SENSOR_OK
        case .failure(let status):
            return status.code
        }
    }

    /// One instance as the host holds it.
    private final class Box {
        let instance: any SinkInstance

        init(_ instance: any SinkInstance) {
            self.instance = instance
        }
    }
}

/// The `built_with` text of the Swift plugins (diagnostics only).
#if compiler(>=6.3)
    private let builtWith = "swift-6.3"
#else
    private let builtWith = "swift"
#endif
