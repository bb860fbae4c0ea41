public import KaspaP2P

/// Everything `sensor.toml` configures, with the defaults the sensor runs on when a key is absent.
/// Sections mirror the file: `[sensor]`, `[network]`, `[handshake]`, `[session]`, `[probing]`, `[export]`,
/// `[database]`, `[metrics]`, `[plugins]`.
public struct SensorConfiguration: Sendable {
    /// `[sensor]`: identity.
    public var sensor = Sensor()
    /// `[network]`: where to listen and which Kaspa network to speak.
    public var network = Network()
    /// `[handshake]`: deadlines for each handshake step.
    public var handshake = Handshake()
    /// `[session]`: what happens after the handshake.
    public var session = Session()
    /// `[probing]`: dial-back reachability probes.
    public var probing = Probing()
    /// `[export]`: the seed's single-exporter shortcut (adds an HTTP or Firebase sink).
    public var export = Export()
    /// `[database]`: local SQLite files.
    public var database = Database()
    /// `[metrics]`: the Prometheus endpoint.
    public var metrics = Metrics()
    /// `[plugins]`: where the sink list lives.
    public var plugins = Plugins()
    /// `[announce]`: self-announcement to known nodes (off by default).
    public var announce = Announce()
    /// `[limits]`: what one source may hold of the sensor.
    public var limits = Limits()

    /// The defaults.
    public init() {}

    /// `[limits]`: per-source bounds on the P2P listener, so that one address or one network cannot take every
    /// slot. A source is an IPv4 address or an IPv6 /64 (one host's usual allocation); its prefix is the IPv4 /24
    /// or the IPv6 /48 around it. IPv4-mapped IPv6 addresses count as IPv4.
    public struct Limits: Sendable {
        /// TCP connections one source may hold, counted from accept.
        public var maxConnectionsPerIP = 4
        /// TCP connections one prefix may hold.
        public var maxConnectionsPerPrefix = 32
        /// `MessageStream`s one source may hold (over all its connections).
        public var maxStreamsPerIP = 8
        /// `MessageStream`s one prefix may hold.
        public var maxStreamsPerPrefix = 64
        /// Peer TCP connections at once, all sources together; 0 = as many as the open-file limit allows after
        /// the descriptors the rest of the sensor needs (``DescriptorBudget``).
        public var maxTCPConnections = 0
        /// Loopback sources (127.0.0.0/8, ::1) are not limited: a local reverse proxy, the benchmarks and the test
        /// peers all connect from there.
        public var exemptLoopback = true

        /// The defaults.
        public init() {}
    }

    /// `[sensor]`.
    public struct Sensor: Sendable {
        /// Identifies this sensor in every event; distinct per sensor of a fleet.
        public var sensorID = "sensor-001"
        /// Added to the user agent as `/kaspa-sensor:<version>(<comment>)/`.
        public var userAgentComment: String?
        /// Advertised in our Version.address (so nodes may gossip it); omitted when unset.
        public var externalAddress: PeerAddress?
        /// `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
        public var logLevel = "info"
    }

    /// `[network]`.
    public struct Network: Sendable {
        /// Addresses to accept peers on. The default `[::]` accepts IPv6 and IPv4 (as mapped addresses, recorded as
        /// IPv4); use `0.0.0.0:16111` on a host without IPv6.
        public var listenAddresses: [String] = ["[::]:16111"]
        /// The Kaspa network.
        public var networkType: KaspaNetwork = .mainnet
        /// At most this many inbound peers at once; more are turned away with a Reject.
        public var maxInbound = 1024
        /// The largest message accepted from a peer, in bytes.
        public var maxMessageBytes = 32 * 1024 * 1024
        /// Connections that open no stream are events, but per source and kind only the first in this many
        /// seconds is recorded in full; the rest of the interval becomes one summary event with their count.
        public var attemptSummarySeconds = 60
    }

    /// `[handshake]`.
    public struct Handshake: Sendable {
        /// Wait for the peer's Version, from the start of the stream.
        public var versionTimeoutMilliseconds = 10_000
        /// Wait for the peer's Verack, from the start of the stream.
        public var verackTimeoutMilliseconds = 10_000
        /// Wait for the peer's Ready, from when ours was sent.
        public var readyTimeoutMilliseconds = 10_000
    }

    /// `[session]`.
    public struct Session: Sendable {
        /// `close`: leave after the handshake, the address exchange and the probe plus the linger (frees the
        /// node's outbound slot); `stay`: stay connected answering Pings until the peer leaves.
        public var stayConnected = false
        /// After Ready, how long to wait for the peer's RequestAddresses (nodes send it at once).
        public var addressWaitMilliseconds = 5_000
        /// How long to stay after everything is done, before closing.
        public var lingerMilliseconds = 2_000
        /// Close a session that received nothing for this long.
        public var idleTimeoutMilliseconds = 300_000
        /// RequestAddresses rounds to send after Ready at most (0 = ask for none); fewer once a round brings
        /// nothing new. The answers go to the address database.
        public var addressRequestRounds = 4
        /// Pause between two RequestAddresses rounds.
        public var addressRequestSpacingMilliseconds = 500
    }

    /// `[probing]`.
    public struct Probing: Sendable {
        /// Dial every inbound peer back; when false every peer is labelled `unknown` (probing disabled).
        public var enabled = true
        /// One TCP connect attempt (a timeout is retried once when `retryOnTimeout`).
        public var connectTimeoutMilliseconds = 3_000
        /// After the TCP connect, how long the listener may take to send HTTP/2 SETTINGS (a gRPC server sends
        /// them at once; anything else is `not_http2`).
        public var http2TimeoutMilliseconds = 2_000
        /// After the TCP connect, how long to wait for the node's Version: rusty-kaspa handshakes its inbound
        /// peers one at a time (4 s + 8 s deadlines each), so a healthy, busy node can answer late.
        public var versionTimeoutMilliseconds = 20_000
        /// Probes running at once.
        public var maxConcurrent = 64
        /// Probes waiting for a slot; beyond it a peer is labelled `unknown` (probe queue full).
        public var queueCapacity = 4_096
        /// A target probed within this many seconds reuses that result (marked as cached).
        public var cacheTTLSeconds = 600
        /// At most this many probes of one source (IPv4 address or IPv6 /64) per `dialWindowSeconds`, whatever
        /// ports its peers name.
        public var maxDialsPerTarget = 6
        /// The window of `maxDialsPerTarget`.
        public var dialWindowSeconds = 600
        /// Probe loopback, private and other non-routable targets (tests, private networks).
        public var allowPrivateTargets = false
        /// Try once more after a timeout before labelling a peer private.
        public var retryOnTimeout = true
    }

    /// `[export]`.
    public struct Export: Sendable {
        /// Add an export sink.
        public var enabled = false
        /// `http` or `firebase`.
        public var backend = "http"
        /// Where to send events.
        public var endpoint: String?
    }

    /// `[database]`.
    public struct Database: Sendable {
        /// The SQLite file of connection events (the default sink writes here).
        public var path = "sensor-data.db"
        /// The SQLite file of gossiped addresses.
        public var addressDatabasePath = "sensor-addresses.db"
        /// Addresses messages waiting for the address database writer at most; more are dropped and counted.
        public var addressQueueCapacity = 1024
    }

    /// `[metrics]`.
    public struct Metrics: Sendable {
        /// Serve `/metrics` and `/health`.
        public var enabled = true
        /// Where to serve them.
        public var address = "0.0.0.0:9090"
        /// Connections at once; more are closed at accept (each one also has a 10 s deadline).
        public var maxConnections = 16
    }

    /// `[announce]`: periodically dial a few known nodes with `[sensor] external_address` in our Version, so they
    /// add it to their address books (fact sheet §7.3) and gossip it onward.
    public struct Announce: Sendable {
        /// Announce at all (needs `[sensor] external_address`).
        public var enabled = false
        /// Seconds between two announcement rounds.
        public var intervalSeconds = 3_600
        /// Nodes dialed per round at most.
        public var maxPeers = 8
        /// Nodes to dial first (`IP:PORT`), trusted as given.
        public var peers: [String] = []
        /// Also dial the most recent addresses of the address database (publicly routable ones unless
        /// `[probing] allow_private_targets`).
        public var useAddressDatabase = true
        /// Also dial the network's DNS seeders' addresses.
        public var useDNSSeeds = true
        /// One visit (connect, handshake, address exchange, close) must finish within this.
        public var timeoutMilliseconds = 20_000
    }

    /// `[plugins]`.
    public struct Plugins: Sendable {
        /// The sink list; relative to the folder of sensor.toml. When the file does not exist the sensor uses
        /// one SQLite sink writing to `[database] path`.
        public var file = "plugins.toml"
        /// Keep the write-ahead journal of events, so sinks lose nothing on queue overflow, crash or restart.
        public var journal = true
        /// The journal's folder; relative to the folder of sensor.toml.
        public var journalDirectory = "sensor-journal"
        /// The most megabytes the journal keeps for lagging sinks before deleting the oldest events: with the
        /// export sinks, which keep nothing of their own, this bounds how long an outage can last without loss.
        public var journalMaxMegabytes = 1024
        /// The folder of the sinks' dead-letter files (`<sink>.jsonl`); relative to the folder of sensor.toml.
        public var deadLetterDirectory = "sensor-dead-letters"
        /// The most megabytes one sink's dead-letter file may hold; refused events beyond it are dropped (logged).
        public var deadLetterMaxMegabytes = 1024
    }
}
