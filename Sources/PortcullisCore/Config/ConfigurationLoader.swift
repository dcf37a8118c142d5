import Yams

/// Reads a ``Configuration`` from YAML text and environment variables, reporting every problem at once.
///
/// Each key path has an environment name: `PORTCULLIS_` and the path in upper case with `_`
/// (`storage.sqlite.path` → `PORTCULLIS_STORAGE_SQLITE_PATH`). Environment values win over the file.
/// Secret keys may also be read from a file named by `..._FILE`.
///
/// ```swift
/// let configuration = try ConfigurationLoader.load(yaml: text, environment: ProcessInfo.processInfo.environment,
///                                                  readFile: { try String(contentsOfFile: $0, encoding: .utf8) })
/// ```
public enum ConfigurationLoader {
    /// A known key: its dotted path and how to apply a text value to the configuration.
    struct Key: Sendable {
        let path: String
        let allowed: String
        let isSecret: Bool
        let apply: @Sendable (inout Configuration, String) -> Bool
    }

    static let keys: [Key] = [
        Key(path: "storage.sqlite.path", allowed: "a file path", isSecret: false) { config, value in
            guard !value.isEmpty else { return false }
            config.sqlitePath = value
            return true
        },
        Key(path: "storage.encryption_key_file", allowed: "a file path", isSecret: false) { config, value in
            guard !value.isEmpty else { return false }
            config.encryptionKeyFile = value
            return true
        },
        Key(path: "storage.encryption_key", allowed: "32 bytes as Base64 or hex", isSecret: true) { config, value in
            config.encryptionKey = value
            return !value.isEmpty
        },
        Key(path: "totp.issuer", allowed: "1 to 64 characters without ':'", isSecret: false) { config, value in
            guard !value.isEmpty, value.count <= 64, !value.contains(":") else { return false }
            config.totpIssuer = value
            return true
        },
        Key(path: "totp.skew", allowed: "a whole number from 0 to 10", isSecret: false) { config, value in
            guard let number = Int(value), (0...10).contains(number) else { return false }
            config.totpSkew = number
            return true
        },
        Key(path: "totp.algorithm", allowed: "sha1, sha256 or sha512", isSecret: false) { config, value in
            guard let algorithm = OTPAlgorithm(rawValue: value.lowercased()) else { return false }
            config.totpAlgorithm = algorithm
            return true
        },
        Key(path: "totp.digits", allowed: "6 to 10", isSecret: false) { config, value in
            guard let number = Int(value), OTPParameters.allowedDigits.contains(number) else { return false }
            config.totpDigits = number
            return true
        },
        Key(path: "totp.period", allowed: "1 to 86400 seconds", isSecret: false) { config, value in
            guard let number = Int(value), (1...OTPParameters.maximumPeriod).contains(number) else { return false }
            config.totpPeriod = number
            return true
        },
        Key(path: "hotp.look_ahead", allowed: "a whole number from 0 to 100", isSecret: false) { config, value in
            guard let number = Int(value), (0...100).contains(number) else { return false }
            config.hotpLookAhead = number
            return true
        },
    ]

    /// The environment variable that overrides a key path.
    public static func environmentName(for path: String) -> String {
        "PORTCULLIS_" + path.uppercased().replacingDots()
    }

    /// Reads the configuration.
    /// - Parameters:
    ///   - yaml: the file's text, or nil when there is no file.
    ///   - source: the file's name, used in messages.
    ///   - environment: the process environment.
    ///   - readFile: reads a file named by a `..._FILE` variable.
    /// - Throws: ``CoreError/Code/invalidConfiguration`` listing every problem, one per line.
    public static func load(
        yaml: String?,
        source: String = "the configuration",
        environment: [String: String],
        readFile: (String) throws -> String
    ) throws -> Configuration {
        var problems: [String] = []
        var values: [String: (value: String, origin: String)] = [:]

        if let yaml, !yaml.trimmingASCIIWhitespace().isEmpty {
            do {
                guard let root = try Yams.load(yaml: yaml) else { throw CoreError(.invalidConfiguration, "empty") }
                guard let mapping = root as? [String: Any] else {
                    throw CoreError(.invalidConfiguration, "\(source): the top level must be a mapping of keys (like `storage:`).")
                }
                flatten(mapping, prefix: "", into: &values, problems: &problems, source: source)
            } catch let error as CoreError {
                problems.append(error.message)
            } catch {
                problems.append("\(source) is not valid YAML: \(error)")
            }
        }

        for key in keys {
            let name = environmentName(for: key.path)
            if let value = environment[name] {
                values[key.path] = (value, "environment variable \(name)")
            } else if let file = environment[name + "_FILE"] {
                do {
                    values[key.path] = (try readFile(file).trimmingASCIIWhitespace(), "file \(file) (from \(name)_FILE)")
                } catch {
                    problems.append("\(name)_FILE names \(file), which cannot be read: \(error)")
                }
            }
        }

        var configuration = Configuration()
        for (path, entry) in values.sorted(by: { $0.key < $1.key }) {
            guard let key = keys.first(where: { $0.path == path }) else {
                let known = keys.map(\.path).filter { !$0.hasSuffix("encryption_key") }.joined(separator: ", ")
                problems.append("\(path) (in \(entry.origin)) is not a known key. Known keys: \(known).")
                continue
            }
            if key.isSecret, entry.origin.hasPrefix(source) {
                problems.append("\(path) must not be written in \(source); set \(environmentName(for: path)) or \(environmentName(for: path))_FILE instead.")
                continue
            }
            if !key.apply(&configuration, entry.value) {
                let shown = key.isSecret ? "(hidden)" : "'\(entry.value)'"
                problems.append("\(path) is \(shown) (from \(entry.origin)); allowed: \(key.allowed).")
            }
        }
        guard problems.isEmpty else {
            throw CoreError(.invalidConfiguration, problems.joined(separator: "\n"))
        }
        return configuration
    }

    private static func flatten(
        _ mapping: [String: Any], prefix: String,
        into values: inout [String: (value: String, origin: String)], problems: inout [String], source: String
    ) {
        for (name, value) in mapping {
            let path = prefix.isEmpty ? name : prefix + "." + name
            switch value {
            case let nested as [String: Any]:
                flatten(nested, prefix: path, into: &values, problems: &problems, source: source)
            case let text as String:
                values[path] = (text, source)
            case let number as Int:
                values[path] = (String(number), source)
            case let flag as Bool:
                values[path] = (String(flag), source)
            case let number as Double:
                values[path] = (String(number), source)
            default:
                problems.append("\(path) in \(source) has a value of a kind that is not allowed here (\(type(of: value))).")
            }
        }
    }
}

extension String {
    func replacingDots() -> String {
        String(map { $0 == "." ? "_" : $0 })
    }
}
