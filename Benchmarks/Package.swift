// swift-tools-version:6.2
import PackageDescription

// Micro-benchmarks of the verify path's parts, in a package of their own so the main build stays
// lean: `cd Benchmarks && swift package --scratch-path ../.build-bench benchmark` (release; about 15
// minutes the first time on 2 cores). The end-to-end figures come from scripts/bench.sh.
let package = Package(
    name: "portcullis-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "portcullis", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Verify",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PortcullisCore", package: "portcullis"),
                .product(name: "PortcullisServer", package: "portcullis"),
            ],
            path: "Benchmarks/Verify",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
