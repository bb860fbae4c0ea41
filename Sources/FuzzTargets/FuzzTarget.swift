/// The fuzzed entry points. Each harness under `Fuzz/` (built with libFuzzer and ASan by `scripts/fuzz.sh`) and
/// the corpus replay in the tests call the same ``run(_:)``, so every input the fuzzer kept is checked again in CI
/// without sanitizers, and a crash found once stays a test.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A `KaspaMessage` envelope from arbitrary bytes, then `PeerVersion` and `NetAddress` conversion.
    case messages
    /// ``KaspaP2P/PeerSessionStateMachine`` driven by an arbitrary sequence of inputs.
    case session
    /// A journal record payload decoded, written back and decoded again.
    case journal
    /// A `sensor.toml` document applied to the defaults.
    case sensorToml = "sensor-toml"
    /// A `plugins.toml` document.
    case pluginsToml = "plugins-toml"

    /// Runs one input; throws when a checked property does not hold (the harness turns that into a crash, the
    /// corpus test into a failure naming the file).
    public func run(_ input: [UInt8]) throws(FuzzFailure) {
        switch self {
        case .messages: try MessageFuzz.run(input)
        case .session: try SessionFuzz.run(input)
        case .journal: try JournalFuzz.run(input)
        case .sensorToml: try ConfigurationFuzz.runSensorTOML(input)
        case .pluginsToml: try ConfigurationFuzz.runPluginsTOML(input)
        }
    }
}

/// A property that must hold for every input and did not.
public struct FuzzFailure: Error, Sendable, CustomStringConvertible {
    /// What did not hold.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Throws ``FuzzFailure`` with `message` unless `condition` holds.
func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFailure) {
    guard condition else { throw FuzzFailure(message()) }
}
