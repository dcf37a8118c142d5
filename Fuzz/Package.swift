// swift-tools-version:6.2
import Foundation
import PackageDescription

// libFuzzer targets for every parser of untrusted input, in one binary (the target is chosen by
// PORTCULLIS_FUZZ_TARGET). A package of its own, so the main `swift build` and `swift test` never
// see it; build and run it with scripts/fuzz.sh.
//
// A path dependency's identity is the name of its folder, which depends on where the repository was
// cloned, so it is read from this file's location.
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "portcullis-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: mainPackage.path),
    ],
    targets: [
        .executableTarget(
            name: "portcullis-fuzz",
            dependencies: [.product(name: "PortcullisCore", package: mainPackage.lastPathComponent.lowercased())],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
                .enableUpcomingFeature("InternalImportsByDefault"),
            ]
        ),
    ]
)
