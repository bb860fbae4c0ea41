public import Foundation

/// Reads a child process's pipe. Not `FileHandle.readDataToEndOfFile()` or `availableData`: they treat an
/// interrupted `read` (EINTR, which the signals of many child processes make likely) as a fatal error and take
/// the whole test process down.
public enum DescriptorRead {
    /// The next bytes `descriptor` has (waiting for some), empty at end of file or on an error.
    public static func chunk(_ descriptor: Int32) -> Data {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count > 0 { return Data(buffer[..<count]) }
            if count == 0 || errno != EINTR { return Data() }
        }
    }

    /// Everything `descriptor` has until end of file.
    public static func toEnd(_ descriptor: Int32) -> Data {
        var data = Data()
        while case let chunk = chunk(descriptor), !chunk.isEmpty {
            data.append(chunk)
        }
        return data
    }
}
