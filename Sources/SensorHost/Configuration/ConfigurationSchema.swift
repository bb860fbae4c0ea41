import KaspaP2P

/// One key of `sensor.toml`: where it lives, what it means, its default, and how it is checked and applied.
/// The same table drives the file loader, the environment overrides (`KASPA_SENSOR_<SECTION>_<KEY>`) and the
/// commented file `--generate-config` writes.
struct ConfigurationKey: Sendable {
    let section: String
    let name: String
    let help: String
    let value: @Sendable (SensorConfiguration) -> ConfigurationValue?
    let apply: @Sendable (inout SensorConfiguration, ConfigurationValue) throws(InvalidValue) -> Void
    /// Set for a key kept only so that older files still load: the warning logged when it is used. Deprecated
    /// keys are left out of the generated file.
    var deprecation: String? = nil

    /// `section.name`.
    var path: String { "\(section).\(name)" }

    /// `KASPA_SENSOR_SECTION_NAME`.
    var environmentVariable: String { "KASPA_SENSOR_\(section.uppercased())_\(name.uppercased())" }
}

/// The keys of `sensor.toml`.
enum ConfigurationSchema {
    static let sections = [
        "sensor", "network", "handshake", "session", "probing", "export", "database", "metrics", "plugins",
        "announce", "limits",
    ]

    static let keys: [ConfigurationKey] =
        networkKeys + sensorKeys + handshakeKeys + sessionKeys + probingKeys + otherKeys + announceKeys + limitsKeys

    private static let limitsKeys: [ConfigurationKey] = [
        integerKey(
            "limits", "max_connections_per_ip",
            "TCP connections one IPv4 address or IPv6 /64 may hold; more are closed at accept and counted.",
            1...1_000_000, \.limits.maxConnectionsPerIP),
        integerKey(
            "limits", "max_connections_per_prefix",
            "TCP connections one IPv4 /24 or IPv6 /48 may hold; more are closed at accept and counted.",
            1...1_000_000, \.limits.maxConnectionsPerPrefix),
        integerKey(
            "limits", "max_streams_per_ip", "MessageStreams one IPv4 address or IPv6 /64 may hold; more are reset.",
            1...1_000_000, \.limits.maxStreamsPerIP),
        integerKey(
            "limits", "max_streams_per_prefix", "MessageStreams one IPv4 /24 or IPv6 /48 may hold; more are reset.",
            1...1_000_000, \.limits.maxStreamsPerPrefix),
        integerKey(
            "limits", "max_tcp_connections",
            "Peer TCP connections at once, all sources together (0 = what the open-file limit allows after the "
                + "descriptors probes, metrics and storage need).",
            0...10_000_000, \.limits.maxTCPConnections),
        booleanKey(
            "limits", "exempt_loopback",
            "Do not limit loopback sources (a local proxy, benchmarks and tests connect from there).",
            \.limits.exemptLoopback),
    ]

    static func key(section: String, name: String) -> ConfigurationKey? {
        keys.first { $0.section == section && $0.name == name }
    }

    private static let sensorKeys: [ConfigurationKey] = [
        ConfigurationKey(
            section: "sensor", name: "sensor_id",
            help: "Identifies this sensor in every event; give each sensor of a fleet its own.",
            value: { .string($0.sensor.sensorID) },
            apply: { config, value throws(InvalidValue) in
                let text = try value.string()
                guard !text.isEmpty, text.utf8.count <= 128,
                    text.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) })
                else {
                    throw InvalidValue(reason: "must be 1 to 128 letters, digits or - _ . :, got \"\(text)\"")
                }
                config.sensor.sensorID = text
            }),
        ConfigurationKey(
            section: "sensor", name: "user_agent_comment",
            help: "Optional comment in our user agent: /kaspa-sensor:<version>(<comment>)/.",
            value: { $0.sensor.userAgentComment.map(ConfigurationValue.string) },
            apply: { config, value throws(InvalidValue) in
                let text = try value.string()
                guard text.utf8.count <= 128 else { throw InvalidValue(reason: "must be at most 128 bytes") }
                config.sensor.userAgentComment = text.isEmpty ? nil : text
            }),
        ConfigurationKey(
            section: "sensor", name: "external_address",
            help: "IP:PORT advertised in our Version (nodes may gossip it). Omitted when unset.",
            value: { $0.sensor.externalAddress.map { .string($0.description) } },
            apply: { config, value throws(InvalidValue) in
                let text = try value.string()
                if text.isEmpty {
                    config.sensor.externalAddress = nil
                    return
                }
                guard let address = PeerAddress(text, defaultPort: config.network.networkType.defaultPort) else {
                    throw InvalidValue(reason: "expected IP or IP:PORT (IPv6 as [addr]:port), got \"\(text)\"")
                }
                config.sensor.externalAddress = address
            }),
        ConfigurationKey(
            section: "sensor", name: "log_level", help: "trace, debug, info, notice, warning, error or critical.",
            value: { .string($0.sensor.logLevel) },
            apply: { config, value throws(InvalidValue) in
                let text = try value.string()
                let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                guard levels.contains(text) else {
                    throw InvalidValue(reason: "must be one of \(levels.joined(separator: ", ")), got \"\(text)\"")
                }
                config.sensor.logLevel = text
            }),
    ]

    private static let networkKeys: [ConfigurationKey] = [
        ConfigurationKey(
            section: "network", name: "listen_address",
            help: "Where to accept peers: \"IP:PORT\" or a list. \"[::]:16111\" accepts IPv4 and IPv6.",
            value: { .strings($0.network.listenAddresses) },
            apply: { config, value throws(InvalidValue) in
                let list = try value.stringList()
                guard !list.isEmpty else { throw InvalidValue(reason: "needs at least one address") }
                for text in list where PeerAddress(text) == nil {
                    throw InvalidValue(reason: "expected IP:PORT (IPv6 as [addr]:port), got \"\(text)\"")
                }
                config.network.listenAddresses = list
            }),
        ConfigurationKey(
            section: "network", name: "network_type", help: "mainnet, testnet-10, devnet or simnet.",
            value: { .string($0.network.networkType.name) },
            apply: { config, value throws(InvalidValue) in
                let text = try value.string()
                guard let network = KaspaNetwork(named: text) else {
                    let names = KaspaNetwork.all.map(\.name).joined(separator: ", ")
                    throw InvalidValue(reason: "unknown network \"\(text)\"; expected one of \(names)")
                }
                config.network.networkType = network
            }),
        integerKey(
            "network", "max_inbound", "Inbound peers at once; more are turned away with a Reject.", 1...1_000_000,
            \.network.maxInbound),
        integerKey(
            "network", "max_message_bytes", "Largest message accepted from a peer, in bytes.",
            4_194_304...1_073_741_824, \.network.maxMessageBytes),
        integerKey(
            "network", "attempt_summary_secs",
            "Connections without a stream (silent, another protocol): one full event per source and kind in this "
                + "interval, the rest summarised with a count.",
            1...86_400, \.network.attemptSummarySeconds),
    ]

    private static let handshakeKeys: [ConfigurationKey] = [
        integerKey(
            "handshake", "version_timeout_ms", "Wait for the peer's Version (node default: 4000).", 100...120_000,
            \.handshake.versionTimeoutMilliseconds),
        integerKey(
            "handshake", "verack_timeout_ms", "Wait for the peer's Verack.", 100...120_000,
            \.handshake.verackTimeoutMilliseconds),
        integerKey(
            "handshake", "ready_timeout_ms", "Wait for the peer's Ready after ours (node default: 8000).",
            100...120_000, \.handshake.readyTimeoutMilliseconds),
    ]

    private static let sessionKeys: [ConfigurationKey] = [
        ConfigurationKey(
            section: "session", name: "mode",
            help:
                "close: leave after handshake, address exchange, probe and linger (frees the node's slot); stay: stay connected.",
            value: { .string($0.session.stayConnected ? "stay" : "close") },
            apply: { config, value throws(InvalidValue) in
                switch try value.string() {
                case "close": config.session.stayConnected = false
                case "stay": config.session.stayConnected = true
                case let other: throw InvalidValue(reason: "must be \"close\" or \"stay\", got \"\(other)\"")
                }
            }),
        integerKey(
            "session", "address_wait_ms", "After Ready, wait this long for the peer's RequestAddresses.", 0...120_000,
            \.session.addressWaitMilliseconds),
        integerKey(
            "session", "linger_ms", "Stay this long after everything is done, then close.", 0...600_000,
            \.session.lingerMilliseconds),
        integerKey(
            "session", "idle_timeout_ms", "Close a session that received nothing for this long.", 1_000...86_400_000,
            \.session.idleTimeoutMilliseconds),
        integerKey(
            "session", "address_request_rounds",
            "RequestAddresses rounds after Ready at most; stops once a round brings nothing new.", 0...16,
            \.session.addressRequestRounds),
        integerKey(
            "session", "address_request_spacing_ms", "Pause between two RequestAddresses rounds.", 0...60_000,
            \.session.addressRequestSpacingMilliseconds),
    ]

    private static let probingKeys: [ConfigurationKey] = [
        booleanKey(
            "probing", "enabled", "Dial every inbound peer back to label it public or private.", \.probing.enabled),
        // Before connect_timeout_ms, so that a file setting both gets the new key's value.
        integerKey(
            "probing", "timeout_ms", "Deprecated: the old name of connect_timeout_ms.", 100...120_000,
            \.probing.connectTimeoutMilliseconds,
            deprecation:
                "[probing] timeout_ms is deprecated; it sets connect_timeout_ms (one TCP connect attempt). The wait "
                + "for the node's Version is version_timeout_ms"),
        integerKey(
            "probing", "connect_timeout_ms", "One TCP connect attempt of a probe (retried once after a timeout).",
            100...120_000, \.probing.connectTimeoutMilliseconds),
        integerKey(
            "probing", "http2_timeout_ms",
            "After the TCP connect, the listener's HTTP/2 SETTINGS must arrive within this (else not_http2).",
            100...60_000, \.probing.http2TimeoutMilliseconds),
        integerKey(
            "probing", "version_timeout_ms",
            "After the TCP connect, wait this long for the node's Version (busy nodes answer late).",
            100...300_000, \.probing.versionTimeoutMilliseconds),
        integerKey("probing", "max_concurrent", "Probes running at once.", 1...100_000, \.probing.maxConcurrent),
        integerKey(
            "probing", "queue_capacity", "Probes waiting for a slot; beyond it peers are labelled unknown.",
            0...1_000_000, \.probing.queueCapacity),
        integerKey(
            "probing", "cache_ttl_secs", "Reuse a target's result for this long (0 = never).", 0...604_800,
            \.probing.cacheTTLSeconds),
        integerKey(
            "probing", "max_dials_per_target",
            "Probes of one IPv4 address or IPv6 /64 per dial_window_secs at most, whatever ports its peers name.",
            1...100_000, \.probing.maxDialsPerTarget),
        integerKey(
            "probing", "dial_window_secs", "The window of max_dials_per_target.", 1...86_400,
            \.probing.dialWindowSeconds),
        booleanKey(
            "probing", "allow_private_targets", "Also probe loopback/private/non-routable addresses.",
            \.probing.allowPrivateTargets),
        booleanKey(
            "probing", "retry_on_timeout", "Try once more after a timeout before saying private.",
            \.probing.retryOnTimeout),
    ]

    private static let otherKeys: [ConfigurationKey] = [
        booleanKey(
            "export", "enabled", "Add an export sink (needs the HTTPExport or FirebaseExport plugin).", \.export.enabled
        ),
        ConfigurationKey(
            section: "export", name: "backend", help: "http or firebase.",
            value: { .string($0.export.backend) },
            apply: { config, value throws(InvalidValue) in
                let text = try value.string()
                guard ["http", "firebase"].contains(text) else {
                    throw InvalidValue(reason: "must be \"http\" or \"firebase\", got \"\(text)\"")
                }
                config.export.backend = text
            }),
        ConfigurationKey(
            section: "export", name: "endpoint", help: "Where the export sink sends events.",
            value: { $0.export.endpoint.map(ConfigurationValue.string) },
            apply: { config, value throws(InvalidValue) in
                let text = try value.string()
                guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
                    throw InvalidValue(reason: "must be an http:// or https:// URL, got \"\(text)\"")
                }
                config.export.endpoint = text
            }),
        pathKey(
            "database", "path",
            "SQLite file of connection events (used when plugins.toml is absent or its sqlite sink has no path).",
            \.database.path),
        pathKey("database", "addressdb_path", "SQLite file of gossiped addresses.", \.database.addressDatabasePath),
        integerKey(
            "database", "addressdb_queue_capacity",
            "Addresses messages waiting for the address database writer; more are dropped.", 1...1_000_000,
            \.database.addressQueueCapacity),
        booleanKey("metrics", "enabled", "Serve Prometheus /metrics and /health.", \.metrics.enabled),
        integerKey(
            "metrics", "max_connections", "Connections to the metrics endpoint at once; more are closed.", 1...4096,
            \.metrics.maxConnections),
        ConfigurationKey(
            section: "metrics", name: "address", help: "IP:PORT of the metrics endpoint.",
            value: { .string($0.metrics.address) },
            apply: { config, value throws(InvalidValue) in
                let text = try value.string()
                guard PeerAddress(text) != nil else {
                    throw InvalidValue(reason: "expected IP:PORT (IPv6 as [addr]:port), got \"\(text)\"")
                }
                config.metrics.address = text
            }),
        pathKey("plugins", "file", "The sink list, relative to this file's folder.", \.plugins.file),
        booleanKey(
            "plugins", "journal",
            "Journal every event before queueing it, so sinks lose nothing on queue overflow, crash or restart.",
            \.plugins.journal),
        pathKey("plugins", "journal_dir", "The event journal's folder (one per sensor).", \.plugins.journalDirectory),
        integerKey(
            "plugins", "journal_max_mb",
            "Journal size limit; beyond it the oldest events are deleted. It bounds how long a sink outage can last "
                + "without loss.",
            1...1_048_576, \.plugins.journalMaxMegabytes),
        pathKey(
            "plugins", "dead_letter_dir", "Folder of the dead-letter files: events a sink refused for good.",
            \.plugins.deadLetterDirectory),
        integerKey(
            "plugins", "dead_letter_max_mb", "Size limit of one sink's dead-letter file.", 1...1_048_576,
            \.plugins.deadLetterMaxMegabytes),
    ]

    private static let announceKeys: [ConfigurationKey] = [
        booleanKey(
            "announce", "enabled",
            "Periodically dial a few known nodes with [sensor] external_address in our Version (needs it).",
            \.announce.enabled),
        integerKey(
            "announce", "interval_secs", "Seconds between announcement rounds.", 10...604_800,
            \.announce.intervalSeconds),
        integerKey("announce", "max_peers", "Nodes dialed per round at most.", 1...1_000, \.announce.maxPeers),
        ConfigurationKey(
            section: "announce", name: "peers", help: "Nodes to dial first: \"IP:PORT\" or a list.",
            value: { .strings($0.announce.peers) },
            apply: { config, value throws(InvalidValue) in
                let list = try value.stringList()
                for text in list {
                    guard let address = PeerAddress(text) else {
                        throw InvalidValue(reason: "expected IP:PORT (IPv6 as [addr]:port), got \"\(text)\"")
                    }
                    guard address.port != 0, !address.ip.isUnspecified else {
                        throw InvalidValue(reason: "\"\(text)\" is no address (port 0 or an unspecified IP)")
                    }
                }
                config.announce.peers = list
            }),
        booleanKey(
            "announce", "use_address_db", "Also dial recent addresses of the address database.",
            \.announce.useAddressDatabase),
        booleanKey("announce", "use_dns_seeds", "Also dial the DNS seeders' addresses.", \.announce.useDNSSeeds),
        integerKey(
            "announce", "timeout_ms", "One announcement visit must finish within this.", 1_000...120_000,
            \.announce.timeoutMilliseconds),
    ]

    private static func integerKey(
        _ section: String,
        _ name: String,
        _ help: String,
        _ range: ClosedRange<Int>,
        _ keyPath: any WritableKeyPath<SensorConfiguration, Int> & Sendable,
        deprecation: String? = nil
    ) -> ConfigurationKey {
        ConfigurationKey(
            section: section, name: name, help: help,
            value: { .integer($0[keyPath: keyPath]) },
            apply: { config, value throws(InvalidValue) in config[keyPath: keyPath] = try value.integer(in: range) },
            deprecation: deprecation)
    }

    private static func booleanKey(
        _ section: String,
        _ name: String,
        _ help: String,
        _ keyPath: any WritableKeyPath<SensorConfiguration, Bool> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(
            section: section, name: name, help: help,
            value: { .boolean($0[keyPath: keyPath]) },
            apply: { config, value throws(InvalidValue) in config[keyPath: keyPath] = try value.boolean() })
    }

    private static func pathKey(
        _ section: String,
        _ name: String,
        _ help: String,
        _ keyPath: any WritableKeyPath<SensorConfiguration, String> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(
            section: section, name: name, help: help,
            value: { .string($0[keyPath: keyPath]) },
            apply: { config, value throws(InvalidValue) in
                let text = try value.string()
                guard !text.isEmpty else { throw InvalidValue(reason: "must not be empty") }
                config[keyPath: keyPath] = text
            })
    }
}
