public import Foundation

/// Finds the executables SwiftPM built next to the test bundle.
public enum Binaries {
    /// The folder with the built products: beside the running test binary, or `.build/debug`.
    public static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["PORTCULLIS_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        var candidate = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // On Linux the test binary is <products>/portcullisPackageTests.xctest; on macOS it is inside a bundle.
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("portcullis").path) { return candidate }
            candidate.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug")
    }()

    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}
