import Foundation
import PortcullisCore

/// Where the configuration comes from: `--config FILE`, else `PORTCULLIS_CONFIG`, else
/// `./portcullis.yml` when present, else `/etc/portcullis/portcullis.yml` when present, else the
/// built-in defaults (data in `./portcullis-data/`). `PORTCULLIS_CONFIG=none` asks for the
/// defaults without looking further (for scripts and tests that must not meet a real configuration).
struct ConfigurationDiscovery {
    /// The places looked at, in order, for messages.
    static let searched = "--config, PORTCULLIS_CONFIG, ./portcullis.yml, /etc/portcullis/portcullis.yml"
    static let systemPath = "/etc/portcullis/portcullis.yml"
    static let localPath = "portcullis.yml"

    /// The file to read, or nil for the built-in defaults.
    let path: String?
    /// How it was found, for messages: "--config", "PORTCULLIS_CONFIG", "./portcullis.yml", ….
    let how: String

    /// Finds the configuration for `explicit` (`--config`) and `environment`.
    /// - Throws: ``CLIError`` when `--config` or `PORTCULLIS_CONFIG` names a file that does not exist.
    static func locate(explicit: String?, environment: [String: String], fileExists: (String) -> Bool) throws -> ConfigurationDiscovery {
        if let explicit {
            guard fileExists(explicit) else {
                throw CLIError("The configuration file \(explicit) (from --config) does not exist. Print a template with: portcullis config template")
            }
            return ConfigurationDiscovery(path: explicit, how: "--config \(explicit)")
        }
        if let named = environment["PORTCULLIS_CONFIG"], !named.isEmpty {
            if named == "none" { return ConfigurationDiscovery(path: nil, how: "the built-in defaults (PORTCULLIS_CONFIG=none)") }
            guard fileExists(named) else {
                throw CLIError("The configuration file \(named) (from PORTCULLIS_CONFIG) does not exist. Print a template with: portcullis config template")
            }
            return ConfigurationDiscovery(path: named, how: "PORTCULLIS_CONFIG=\(named)")
        }
        if fileExists(localPath) { return ConfigurationDiscovery(path: localPath, how: "./\(localPath)") }
        if fileExists(systemPath) { return ConfigurationDiscovery(path: systemPath, how: systemPath) }
        return ConfigurationDiscovery(path: nil, how: "the built-in defaults (no file found at \(searched))")
    }

    /// The folder relative paths in the file are resolved against; nil for the built-in defaults
    /// (then they are relative to the working folder, as paths from the environment always are).
    var baseDirectory: String? {
        guard let path else { return nil }
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }
}
