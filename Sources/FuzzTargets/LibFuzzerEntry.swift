/// libFuzzer's entry point. It lives in the library, not in a harness file: the library's objects are all a fuzzer
/// needs (scripts/fuzz.sh links them once with `swiftc -sanitize=fuzzer,address`, no Swift module to import at
/// link time), and the binary is called by one name per harness (`.build-fuzz/fuzzers/session`, …, links to it).
/// The name picks the ``FuzzTarget``; a property that does not hold becomes a crash, which libFuzzer saves.
/// In the test binary nothing calls it.
@_cdecl("LLVMFuzzerTestOneInput")
public func libFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try selectedTarget.run(input)
    } catch {
        fatalError("\(selectedTarget.rawValue): \(error)")
    }
    return 0
}

/// The harness the process was started as: the last path component of its name (`messages`, `sensor-toml`, …).
let selectedTarget: FuzzTarget = {
    let name = String(CommandLine.arguments.first?.split(separator: "/").last ?? "")
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        fatalError("run the fuzzer as one of \(names) (scripts/fuzz.sh makes those links), not as \(name)")
    }
    return target
}()
