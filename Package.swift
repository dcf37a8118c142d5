// swift-tools-version:6.2
import PackageDescription

/// Settings every target shares (the same three Hummingbird uses).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "portcullis",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "portcullis", targets: ["portcullis"]),
        .library(name: "PortcullisCore", targets: ["PortcullisCore"]),
        .library(name: "PortcullisStore", targets: ["PortcullisStore"]),
        .library(name: "PortcullisPostgres", targets: ["PortcullisPostgres"]),
        .library(name: "PortcullisServer", targets: ["PortcullisServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "PortcullisCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "PortcullisStore",
            dependencies: [
                "PortcullisCore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // The PostgreSQL backend: the same store protocols, for several instances sharing one database.
        .target(
            name: "PortcullisPostgres",
            dependencies: [
                "PortcullisCore",
                "PortcullisStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "PortcullisServer",
            dependencies: [
                "PortcullisCore",
                "PortcullisStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "portcullis",
            dependencies: [
                "PortcullisCore",
                "PortcullisStore",
                "PortcullisServer",
                "PortcullisPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "portcullis-store-probe",
            dependencies: ["PortcullisCore", "PortcullisStore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "PortcullisTestSupport",
            path: "Tests/PortcullisTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PortcullisCoreTests",
            dependencies: ["PortcullisCore", "PortcullisTestSupport"],
            swiftSettings: strictSettings
        ),
        // The store contract suite, as a library: it runs, unchanged, against every backend of
        // StoreBackend.all (SQLite, and PostgreSQL in the cluster scripts/test.sh starts).
        .target(
            name: "PortcullisStoreTesting",
            dependencies: ["PortcullisCore", "PortcullisStore", "PortcullisPostgres", "PortcullisTestSupport"],
            path: "Tests/PortcullisStoreTesting",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PortcullisStoreTests",
            dependencies: [
                "PortcullisCore", "PortcullisStore", "PortcullisPostgres", "PortcullisTestSupport", "PortcullisStoreTesting",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PortcullisServerTests",
            dependencies: [
                "PortcullisCore", "PortcullisStore", "PortcullisServer", "PortcullisTestSupport", "CHeapUsage",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // glibc's heap statistics, for the tests that measure what the session cache keeps.
        .target(name: "CHeapUsage", path: "Tests/CHeapUsage"),
        .testTarget(
            name: "PortcullisCLITests",
            dependencies: ["portcullis", "portcullis-store-probe", "PortcullisCore", "PortcullisStore", "PortcullisPostgres", "PortcullisTestSupport"],
            swiftSettings: strictSettings
        ),
    ]
)
