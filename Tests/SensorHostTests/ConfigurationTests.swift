import Foundation
import KaspaP2P
import SensorEvents
import SensorHost
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "sensor-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("The seed's sensor.toml loads and means what it says")
    func seedFile() throws {
        let path = try write(
            """
            [sensor]
            sensor_id = "sensor-001"

            [network]
            listen_address = "0.0.0.0:16111"
            network_type = "mainnet"

            [probing]
            enabled = true
            timeout_ms = 5000

            [export]
            enabled = false  # Set true for production
            backend = "http"
            endpoint = "https://api.example.com/events"

            [database]
            path = "sensor-data.db"
            addressdb_path = "sensor-addresses.db"

            [metrics]
            enabled = true
            address = "0.0.0.0:9090"
            """)
        let loaded = try ConfigurationLoader.load(file: path, environment: [:])
        let configuration = loaded.configuration
        #expect(configuration.sensor.sensorID == "sensor-001")
        #expect(configuration.network.listenAddresses == ["0.0.0.0:16111"])
        #expect(configuration.network.networkType == .mainnet)
        // The seed's timeout_ms still loads: it sets the connect timeout, with a warning naming the file.
        #expect(configuration.probing.connectTimeoutMilliseconds == 5000)
        #expect(configuration.probing.versionTimeoutMilliseconds == 20_000)
        #expect(loaded.warnings.count == 1)
        #expect(loaded.warnings.first?.hasPrefix("\(path): [probing] timeout_ms is deprecated") == true)
        #expect(configuration.export.endpoint == "https://api.example.com/events")
        #expect(
            loaded.resolve(configuration.database.path) == (path as NSString).deletingLastPathComponent
                + "/sensor-data.db")
        #expect(configuration.metrics.address == "0.0.0.0:9090")
    }

    @Test(
        "Bad files name the file, the key and the reason",
        arguments: [
            ("[sensor]\nsensor_idd = \"x\"", "sensor.sensor_idd", "unknown key"),
            ("[sensors]\nsensor_id = \"x\"", "sensors", "unknown section"),
            ("[probing]\ntimeout_ms = 0", "probing.timeout_ms", "must be between 100 and 120000, got 0"),
            ("[probing]\ntimeout_ms = \"fast\"", "probing.timeout_ms", "expected an integer, got a string"),
            ("[probing]\nenabled = 1", "probing.enabled", "expected true or false"),
            ("[network]\nnetwork_type = \"moonnet\"", "network.network_type", "unknown network \"moonnet\""),
            ("[network]\nlisten_address = \"localhost:16111\"", "network.listen_address", "expected IP:PORT"),
            ("[sensor]\nsensor_id = \"has space\"", "sensor.sensor_id", "must be 1 to 128"),
            ("[session]\nmode = \"forever\"", "session.mode", "must be \"close\" or \"stay\""),
            ("[export]\nendpoint = \"ftp://x\"", "export.endpoint", "http:// or https://"),
            ("[sensor\nsensor_id = 1", "", "not valid TOML at line 1"),
            ("[announce]\nenabled = true", "announce.enabled", "needs [sensor] external_address"),
            ("[announce]\npeers = [\"198.51.100.7:0\"]", "announce.peers", "is no address (port 0"),
            ("[probing]\nversion_timeout_ms = 50", "probing.version_timeout_ms", "must be between 100 and 300000"),
        ]
    )
    func badFiles(text: String, key: String, reason: String) throws {
        let path = try write(text)
        #expect {
            try ConfigurationLoader.load(file: path, environment: [:])
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.file == path && error.key == key && error.reason.contains(reason)
                && error.description.contains(path)
        }
    }

    @Test("Environment variables and --sensor-id override the file, and are checked too")
    func overrides() throws {
        let path = try write("[sensor]\nsensor_id = \"from-file\"\n[probing]\ntimeout_ms = 5000")
        let loaded = try ConfigurationLoader.load(
            file: path,
            environment: [
                "KASPA_SENSOR_PROBING_TIMEOUT_MS": "750", "KASPA_SENSOR_NETWORK_NETWORK_TYPE": "testnet-10",
                "KASPA_SENSOR_SENSOR_SENSOR_ID": "from-env",
            ]
        )
        #expect(loaded.configuration.probing.connectTimeoutMilliseconds == 750)
        #expect(loaded.warnings.contains { $0.hasPrefix("environment variable KASPA_SENSOR_PROBING_TIMEOUT_MS:") })
        #expect(loaded.configuration.network.networkType == .testnet10)
        #expect(loaded.configuration.sensor.sensorID == "from-env")
        let cli = try ConfigurationLoader.load(file: path, environment: [:], sensorID: "aws-us-east-1")
        #expect(cli.configuration.sensor.sensorID == "aws-us-east-1")
        #expect {
            try ConfigurationLoader.load(file: path, environment: ["KASPA_SENSOR_PROBING_ENABLED": "maybe"])
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.file == "environment variable KASPA_SENSOR_PROBING_ENABLED" && error?.key == "probing.enabled"
        }
    }

    @Test("--generate-config output loads back to the defaults, and external_address takes the network's port")
    func generatedFileRoundTrip() throws {
        let path = try write(ConfigurationTemplate.sensorFile())
        let loaded = try ConfigurationLoader.load(file: path, environment: [:])
        #expect(loaded.configuration.sensor.sensorID == SensorConfiguration().sensor.sensorID)
        #expect(loaded.configuration.probing.connectTimeoutMilliseconds == 3000)
        #expect(loaded.configuration.probing.versionTimeoutMilliseconds == 20_000)
        #expect(loaded.configuration.probing.http2TimeoutMilliseconds == 2000)
        #expect(loaded.warnings.isEmpty, "the generated file uses no deprecated key")
        let plugins = try PluginsFile(
            parsing: ConfigurationTemplate.pluginsFile(), file: "plugins.toml", directory: "/tmp")
        #expect(plugins.sinks.map(\.name) == ["sqlite"])

        let testnet = try write(
            "[network]\nnetwork_type = \"testnet-10\"\n[sensor]\nexternal_address = \"203.0.113.5\"")
        let external = try ConfigurationLoader.load(file: testnet, environment: [:]).configuration.sensor
            .externalAddress
        #expect(external?.description == "203.0.113.5:16211")
    }
}
