/// A Kaspa network the sensor can join, with its exact `Version.network` name, default P2P port and DNS seeders.
public struct KaspaNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The short name used in configuration files: `mainnet`, `testnet-10`, `devnet`, `simnet`.
    public let name: String
    /// The exact string peers put in `Version.network`, e.g. `kaspa-mainnet`.
    public let wireName: String
    /// The port a node listens on by default and the port assumed for addresses with none.
    public let defaultPort: UInt16
    /// Host names whose A/AAAA records list nodes (default port assumed), as the reference node uses them.
    public let dnsSeeders: [String]

    /// Mainnet: `kaspa-mainnet`, port 16111.
    public static let mainnet = KaspaNetwork(
        name: "mainnet",
        wireName: "kaspa-mainnet",
        defaultPort: 16111,
        dnsSeeders: [
            "mainnet-dnsseed-1.kaspanet.org", "mainnet-dnsseed-2.kaspanet.org", "seeder1.kaspad.net",
            "seeder2.kaspad.net", "seeder3.kaspad.net", "seeder4.kaspad.net", "kaspadns.kaspacalc.net",
            "n-mainnet.kaspa.ws", "dnsseeder-kaspa-mainnet.x-con.at",
        ]
    )
    /// Testnet 10: `kaspa-testnet-10`, port 16211.
    public static let testnet10 = KaspaNetwork(
        name: "testnet-10",
        wireName: "kaspa-testnet-10",
        defaultPort: 16211,
        dnsSeeders: ["seeder1-tn.kaspad.net", "dnsseeder-kaspa-testnet.x-con.at", "n-testnet-10.kaspa.ws"]
    )
    /// Devnet: `kaspa-devnet`, port 16611, no seeders.
    public static let devnet = KaspaNetwork(
        name: "devnet", wireName: "kaspa-devnet", defaultPort: 16611, dnsSeeders: [])
    /// Simnet: `kaspa-simnet`, port 16511, no seeders.
    public static let simnet = KaspaNetwork(
        name: "simnet", wireName: "kaspa-simnet", defaultPort: 16511, dnsSeeders: [])

    /// Every network the sensor knows.
    public static let all: [KaspaNetwork] = [.mainnet, .testnet10, .devnet, .simnet]

    /// Looks a network up by its configuration name (`mainnet`, `testnet-10`, `testnet`, `devnet`, `simnet`)
    /// or by its wire name (`kaspa-mainnet`). Returns `nil` for anything else.
    public init?(named text: String) {
        let lowered = text.lowercased()
        let alias = lowered == "testnet" ? "testnet-10" : lowered
        guard let match = Self.all.first(where: { $0.name == alias || $0.wireName == alias }) else { return nil }
        self = match
    }

    private init(name: String, wireName: String, defaultPort: UInt16, dnsSeeders: [String]) {
        self.name = name
        self.wireName = wireName
        self.defaultPort = defaultPort
        self.dnsSeeders = dnsSeeders
    }

    /// The configuration name.
    public var description: String { name }
}
