// The libFuzzer entry point of every Swift harness; scripts/fuzz.sh compiles this file once per harness with
// -D FUZZ_<NAME> and links it with the FuzzTargets build. The body is FuzzTarget.run, which FuzzCorpusTests also
// calls, so what the fuzzer checks here is what the corpus replay checks in CI.
import FuzzTargets

#if FUZZ_MESSAGES
    let target = FuzzTarget.messages
#elseif FUZZ_SESSION
    let target = FuzzTarget.session
#elseif FUZZ_JOURNAL
    let target = FuzzTarget.journal
#elseif FUZZ_SENSOR_TOML
    let target = FuzzTarget.sensorToml
#elseif FUZZ_PLUGINS_TOML
    let target = FuzzTarget.pluginsToml
#endif

/// One input: a property that does not hold becomes a crash, which libFuzzer reports and saves.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try target.run(input)
    } catch {
        fatalError("\(target.rawValue): \(error)")
    }
    return 0
}
