// swift-tools-version: 6.2
import PackageDescription

/// CI and scripts/test.sh set KASPA_SENSOR_STRICT=1: every warning in this package is an error there.
let strict = Context.environment["KASPA_SENSOR_STRICT"] == "1"

/// Swift settings shared by every Swift target: Swift 6 language mode with strict concurrency.
let strictSwift: [SwiftSetting] =
    [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ] + (strict ? [.treatAllWarnings(as: .error)] : [])

/// Linker flags for a sink plugin library: export `sensor_plugin_query_v1` and nothing else.
let pluginExportsOnly: [LinkerSetting] = [
    .unsafeFlags([
        "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/SensorPluginAPI/linker/plugin.exports",
    ])
]

let package = Package(
    name: "kaspa-sensor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kaspa-sensor", targets: ["KaspaSensor"]),
        .executable(name: "kaspa-bench", targets: ["KaspaBench"]),
        .library(name: "SensorHost", targets: ["SensorHost"]),
        .library(name: "KaspaP2P", targets: ["KaspaP2P"]),
        .library(name: "NetworkCrawler", targets: ["NetworkCrawler"]),
        .library(name: "SensorReports", targets: ["SensorReports"]),
        .library(name: "SensorPluginAPI", targets: ["SensorPluginAPI"]),
        // Sink plugins: C-ABI shared libraries the host loads with dlopen (see plugins.toml).
        .library(name: "SQLiteSink", type: .dynamic, targets: ["SQLiteSink"]),
        .library(name: "PostgresSink", type: .dynamic, targets: ["PostgresSink"]),
        .library(name: "JSONLinesSink", type: .dynamic, targets: ["JSONLinesSink"]),
        .library(name: "HTTPExport", type: .dynamic, targets: ["HTTPExport"]),
        .library(name: "FirebaseExport", type: .dynamic, targets: ["FirebaseExport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    ],
    targets: [
        // The plugin ABI: one self-contained C header, nothing Swift.
        .target(
            name: "SensorPluginAPI",
            exclude: ["linker"],
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])]
        ),
        // libsqlite3 from the system (libsqlite3-dev).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // libcurl (libcurl4-openssl-dev) and the zlib it links, with inline wrappers for the variadic calls.
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev", "zlib1g-dev"])]
        ),
        // libpq (libpq-dev): PostgresSink's client library.
        .systemLibrary(
            name: "CPostgres",
            path: "Sources/CPostgres",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // zlib (zlib1g-dev): the event journal's CRC-32.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // OpenSSL's libcrypto (libssl-dev) for RS256 signatures, with inline wrappers for the EVP calls.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // The Kaspa P2P protocol: generated messages, handshake state machine, dialer, peer sessions.
        .target(
            name: "KaspaP2P",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Generated/README.md"],
            swiftSettings: strictSwift
        ),
        // Gossiped addresses: validation, the address database (SQLite) and its bounded background writer.
        .target(
            name: "AddressBook",
            dependencies: ["KaspaP2P", "CSQLite", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        // The network crawler (phase 3): dial, handshake, harvest addresses, follow them; resumable, in SQLite.
        .target(
            name: "NetworkCrawler",
            dependencies: ["KaspaP2P", "AddressBook", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        // Reports over crawl and sensor databases: gossip presence of sensor addresses and network composition.
        .target(
            name: "SensorReports",
            dependencies: ["AddressBook", "KaspaP2P"],
            swiftSettings: strictSwift
        ),
        // Connection events and their delivery to sink plugins: the event model, the C marshalling,
        // plugin loading (dlopen) and one bounded queue and worker thread per sink.
        .target(
            name: "SensorEvents",
            dependencies: [
                "SensorPluginAPI",
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strictSwift
        ),
        // The host: inbound server, probing, events, plugin loading and dispatch, metrics, configuration.
        .target(
            name: "SensorHost",
            dependencies: [
                "KaspaP2P",
                "SensorEvents",
                "AddressBook",
                "NetworkCrawler",
                "CSQLite",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strictSwift
        ),
        // The thin `kaspa-sensor` executable: command-line parsing only.
        .executableTarget(
            name: "KaspaSensor",
            dependencies: [
                "SensorHost",
                "NetworkCrawler",
                "SensorReports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        // `kaspa-bench` (scripts/bench.sh): the load generator and the benchmark figures, against the real binary.
        .executableTarget(
            name: "KaspaBench",
            dependencies: [
                "KaspaP2P",
                "SensorEvents",
                "SensorHost",
                "TestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
        // Plugins depend only on the C API and system C libraries (never on SwiftPM packages).
        // What the Swift plugins share (a static library linked into each of their .so files): strict reading of
        // `[sink.config]`, the host log, the event's field columns, field-name lookup and timestamps. Only the C
        // API and Foundation, like a plugin.
        .target(
            name: "PluginSupport",
            dependencies: ["SensorPluginAPI"],
            path: "Sources/Plugins/PluginSupport",
            swiftSettings: strictSwift
        ),
        .target(
            name: "SQLiteSink",
            dependencies: ["SensorPluginAPI", "CSQLite", "PluginSupport"],
            path: "Sources/Plugins/SQLiteSink",
            swiftSettings: strictSwift,
            linkerSettings: pluginExportsOnly
        ),
        // A central PostgreSQL store for a fleet (libpq): one transaction per host batch, COPY into a staging table,
        // idempotent on event_id.
        .target(
            name: "PostgresSink",
            dependencies: ["SensorPluginAPI", "CPostgres", "PluginSupport"],
            path: "Sources/Plugins/PostgresSink",
            swiftSettings: strictSwift,
            linkerSettings: pluginExportsOnly
        ),
        // A sink in plain C (the header and libc only): each event's JSON as one line of a file. Also the template
        // for C plugins. Hidden visibility: sensor_plugin_query_v1 (SENSOR_EXPORT) is its only exported symbol.
        .target(
            name: "JSONLinesSink",
            dependencies: ["SensorPluginAPI"],
            path: "Sources/Plugins/JSONLinesSink",
            cSettings: [.unsafeFlags(["-fvisibility=hidden", "-Wall", "-Wextra", "-Werror"])],
            // SwiftPM links every product with swiftc, which adds the Swift runtime (swiftrt.o, -lswiftCore) even
            // to pure C. In the Embedded mode the driver links no runtime: the .so then needs libc alone (checked by
            // JSONLinesSinkTests). This flag only changes which libraries the link step adds; nothing is compiled.
            linkerSettings: [.unsafeFlags(["-enable-experimental-feature", "Embedded"])]
        ),
        // What the export sinks share (a static library linked into each of their .so files): the libcurl client,
        // configuration reading, the host API wrapper, the descriptor and the instance that delivers a host batch
        // inside write_batch. No durability: the host's journal, retries and dead letters do that for every sink.
        // Only the C API and system libraries, like a plugin.
        .target(
            name: "ExportDelivery",
            dependencies: ["SensorPluginAPI", "CCurl", "PluginSupport"],
            path: "Sources/Plugins/ExportDelivery",
            swiftSettings: strictSwift
        ),
        // A sink that POSTs each host batch to an HTTP(S) endpoint (libcurl), inside write_batch.
        .target(
            name: "HTTPExport",
            dependencies: ["SensorPluginAPI", "CCurl", "ExportDelivery", "PluginSupport"],
            path: "Sources/Plugins/HTTPExport",
            swiftSettings: strictSwift,
            linkerSettings: pluginExportsOnly
        ),
        // A sink that writes events to Cloud Firestore or the Realtime Database over their REST APIs (libcurl),
        // signing service-account JWTs with libcrypto, inside write_batch like HTTPExport.
        .target(
            name: "FirebaseExport",
            dependencies: ["SensorPluginAPI", "CCurl", "COpenSSL", "ExportDelivery", "PluginSupport"],
            path: "Sources/Plugins/FirebaseExport",
            swiftSettings: strictSwift,
            linkerSettings: pluginExportsOnly
        ),
        // The fuzzed entry points (issue 12): the libFuzzer harnesses (Fuzz/, scripts/fuzz.sh) and FuzzCorpusTests
        // call the same code. The project's own modules only.
        .target(
            name: "FuzzTargets",
            dependencies: ["KaspaP2P", "SensorEvents", "SensorHost"],
            swiftSettings: strictSwift
        ),
        // Sockets, listeners, HTTP servers and sink setups shared by the test targets.
        .target(
            name: "TestSupport",
            dependencies: [
                "KaspaP2P",
                "SensorEvents",
                "CCurl",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "KaspaP2PTests",
            dependencies: ["KaspaP2P", "TestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "SensorEventsTests",
            dependencies: [
                "SensorEvents",
                "SensorPluginAPI",
                "CSQLite",
                "TestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HTTPExportTests",
            dependencies: [
                "SensorEvents",
                "CCurl",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/HTTPExportTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "FirebaseExportTests",
            dependencies: [
                "SensorEvents",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/FirebaseExportTests",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "GossipTests",
            dependencies: [
                "NetworkCrawler", "SensorReports", "AddressBook", "SensorHost", "KaspaP2P", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "SensorHostTests",
            dependencies: [
                "SensorHost",
                "FuzzTargets",
                "SensorEvents",
                "KaspaP2P",
                "SensorPluginAPI",
                "CSQLite",
                "TestSupport",
            ],
            swiftSettings: strictSwift
        ),
    ]
)
