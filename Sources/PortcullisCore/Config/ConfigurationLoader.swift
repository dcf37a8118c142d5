/// Reads a ``Configuration`` from YAML text and environment variables, reporting every problem at once.
///
/// Each key path has an environment name: `PORTCULLIS_` and the path in upper case with `_`
/// (`storage.sqlite.path` → `PORTCULLIS_STORAGE_SQLITE_PATH`; list entries take their index:
/// `session.cookies.0.domain` → `PORTCULLIS_SESSION_COOKIES_0_DOMAIN`). Environment values win over
/// the file. Any value may also be read from a file named by `..._FILE`. Lists of values
/// (`server.trusted_proxies`) are written as YAML lists, or comma-separated in the environment.
///
/// ```swift
/// let configuration = try ConfigurationLoader.load(yaml: text, environment: ProcessInfo.processInfo.environment,
///                                                  readFile: { try String(contentsOfFile: $0, encoding: .utf8) })
/// ```
public enum ConfigurationLoader {
    /// Reads the configuration.
    /// - Parameters:
    ///   - yaml: the file's text, or nil when there is no file.
    ///   - source: the file's name, used in messages.
    ///   - environment: the process environment.
    ///   - readFile: reads a file named by a `..._FILE` variable.
    ///   - baseDirectory: the file's folder: relative paths written in the file, and the default
    ///     data folder, are resolved against it (paths from the environment stay as given).
    /// - Throws: ``CoreError/Code/invalidConfiguration`` listing every problem, one per line.
    public static func load(
        yaml: String?,
        source: String = "the configuration",
        environment: [String: String],
        readFile: (String) throws -> String,
        baseDirectory: String? = nil
    ) throws -> Configuration {
        var problems: [String] = []
        var warnings: [String] = []
        var values: [String: (value: String, origin: String)] = [:]
        var structured: [String: Any] = [:]

        if let yaml, !yaml.trimmingASCIIWhitespace().isEmpty {
            do {
                if let root = try BoundedYAML.load(yaml, what: source) {
                    guard let mapping = root as? [String: Any] else {
                        throw CoreError(.invalidConfiguration, "\(source): the top level must be a mapping of keys (like `storage:`).")
                    }
                    flatten(mapping, prefix: "", into: &values, structured: &structured, problems: &problems, source: source)
                }
            } catch let error as CoreError {
                problems.append(error.message)
            } catch {
                problems.append("\(source) is not valid YAML: \(error)")
            }
        }

        for (name, value) in environment where name.hasPrefix("PORTCULLIS_") {
            var variable = name
            var text = value
            var origin = "environment variable \(name)"
            if name.hasSuffix("_FILE"), ConfigurationKeys.path(forEnvironmentName: String(name.dropLast(5))) != nil {
                variable = String(name.dropLast(5))
                guard environment[variable] == nil else { continue }  // the direct value wins
                do {
                    text = try readFile(value).trimmingASCIIWhitespace()
                } catch {
                    problems.append("\(name) names \(value), which cannot be read: \(error)")
                    continue
                }
                origin = "file \(value) (from \(name))"
            }
            guard let path = ConfigurationKeys.path(forEnvironmentName: variable) else {
                if name != "PORTCULLIS_CONFIG" { warnings.append(ConfigurationKeys.unknownVariableWarning(name)) }
                continue
            }
            values[path] = (text, origin)
        }

        var configuration = Configuration()
        // The PostgreSQL URL first: the keys given beside it override its parts.
        let urlFirst = { (path: String) in path == "storage.postgres.url" ? "" : path }
        for (path, entry) in values.sorted(by: { urlFirst($0.key) < urlFirst($1.key) }) {
            guard let (key, index) = ConfigurationKeys.key(for: path) else {
                problems.append(ConfigurationKeys.unknownKeyProblem(path, value: entry.value, origin: entry.origin))
                continue
            }
            if key.isSecret, entry.origin == source {
                problems.append("\(path) must not be written in \(source); set \(environmentName(for: path)) or \(environmentName(for: path))_FILE instead.")
                continue
            }
            if path == "storage.postgres.url", entry.origin == source, PostgresSettings.urlHasPassword(entry.value) {
                problems.append("storage.postgres.url in \(source) holds a password; remove it from the URL and set \(environmentName(for: "storage.postgres.password")) or storage.postgres.password_file instead.")
                continue
            }
            if !key.apply(&configuration, entry.value, index ?? 0) {
                let shown = key.isSecret ? "(hidden)"
                    : path == "storage.postgres.url" ? "'\(PostgresSettings.redacted(entry.value))'" : "'\(entry.value)'"
                problems.append("\(path) is \(shown) (from \(entry.origin)); allowed: \(key.allowed).")
            }
        }
        let networks = AccessControlReader.networks(structured, problems: &problems)
        if let rules = structured["access_control.rules"] {
            configuration.accessRules = AccessControlReader.rules(rules, networks: networks, problems: &problems)
        }
        if let baseDirectory {
            let fromEnvironment = { (path: String) in values[path].map { $0.origin != source } ?? false }
            func resolved(_ path: String) -> String { path.hasPrefix("/") || baseDirectory == "." ? path : baseDirectory + "/" + path }
            if !fromEnvironment("storage.sqlite.path") { configuration.sqlitePath = resolved(configuration.sqlitePath) }
            if var postgres = configuration.postgres {
                if !fromEnvironment("storage.postgres.password_file") { postgres.passwordFile = postgres.passwordFile.map(resolved) }
                if !fromEnvironment("storage.postgres.tls_ca_file") { postgres.tlsCAFile = postgres.tlsCAFile.map(resolved) }
                configuration.postgres = postgres
            }
            if !fromEnvironment("storage.encryption_key_file") { configuration.encryptionKeyFile = configuration.encryptionKeyFile.map(resolved) }
            if !fromEnvironment("portal.logo_file") { configuration.portalLogoFile = configuration.portalLogoFile.map(resolved) }
        }
        problems += ConfigurationKeys.crossCheck(configuration)
        guard problems.isEmpty else {
            throw CoreError(.invalidConfiguration, problems.joined(separator: "\n"))
        }
        if let postgres = configuration.postgres, postgres.isUncheckedNetworkConnection {
            warnings.append("storage.postgres.tls is \(postgres.tls.rawValue) for \(postgres.host): the connection to the store is not authenticated, and someone on the network between could read or change sessions. Use verify-full (with tls_ca_file for a private CA)")
        }
        configuration.warnings = warnings.sorted()
        return configuration
    }

    /// The environment variable that overrides a key path.
    public static func environmentName(for path: String) -> String {
        "PORTCULLIS_" + String(path.uppercased().map { $0 == "." ? "_" : $0 })
    }

    private static func flatten(
        _ mapping: [String: Any], prefix: String,
        into values: inout [String: (value: String, origin: String)], structured: inout [String: Any], problems: inout [String], source: String
    ) {
        for (name, value) in mapping {
            let path = prefix.isEmpty ? name : prefix + "." + name
            if AccessControlReader.paths.contains(path) {
                structured[path] = value
            } else if let nested = value as? [String: Any] {
                flatten(nested, prefix: path, into: &values, structured: &structured, problems: &problems, source: source)
            } else if let list = value as? [Any] {
                if list.allSatisfy({ $0 is [String: Any] }) && !list.isEmpty {
                    for (index, element) in list.enumerated() {
                        flatten(element as! [String: Any], prefix: "\(path).\(index)", into: &values, structured: &structured, problems: &problems, source: source)
                    }
                } else if let scalars = list.map(scalarText) as? [String] {
                    values[path] = (scalars.joined(separator: ","), source)
                } else {
                    problems.append("\(path) in \(source) is a list of mixed kinds; give a list of values or a list of mappings.")
                }
            } else if let text = scalarText(value) {
                values[path] = (text, source)
            } else if "\(type(of: value))".contains("Null") {
                problems.append("\(path) in \(source) has no value; give one or remove the key.")
            } else {
                problems.append("\(path) in \(source) has a value of a kind that is not allowed here (\(type(of: value))).")
            }
        }
    }

    private static func scalarText(_ value: Any) -> String? {
        switch value {
        case let text as String: text
        case let flag as Bool: String(flag)
        case let number as Int: String(number)
        case let number as Double: String(number)
        default: nil
        }
    }
}
