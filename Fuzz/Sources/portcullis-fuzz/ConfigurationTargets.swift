import PortcullisCore

/// The configuration file, the environment, durations, and the bounded YAML reader under both.
let configurationTargets: [FuzzTarget] = [
    FuzzTarget(name: "duration") { bytes in
        guard let seconds = DurationParser.seconds(text(bytes)) else { return }
        require((0...DurationParser.maximumSeconds).contains(seconds), "\(seconds) s is out of bounds")
        require(DurationParser.seconds(String(seconds)) == seconds, "\(seconds) does not read back")
    },
    // Any YAML: refused, or read into no more values than the bound allows (aliases and merge keys expanded).
    FuzzTarget(name: "yaml") { bytes in
        guard let root = try? BoundedYAML.load(text(bytes), what: "the input") else { return }
        var budget = BoundedYAML.maximumNodes
        require(fits(root, within: &budget, depth: 0), "a document read past the bounds")
    },
    // The configuration file.
    FuzzTarget(name: "config") { bytes in
        checkLoad(yaml: text(bytes), environment: [:])
    },
    // The environment: `NAME=value` lines, each name taken after PORTCULLIS_. `..._FILE` names read
    // a fixed text, or fail for paths that contain "missing".
    FuzzTarget(name: "config-env") { bytes in
        var environment: [String: String] = [:]
        for line in text(bytes).split(separator: "\n") {
            let (name, value) = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).pairOfStrings
            environment["PORTCULLIS_" + name] = value
        }
        checkLoad(yaml: nil, environment: environment)
    },
]

private struct MissingFile: Error {}

private func checkLoad(yaml: String?, environment: [String: String]) {
    do {
        let configuration = try ConfigurationLoader.load(yaml: yaml, source: "fuzz.yml", environment: environment) { path in
            guard !path.contains("missing") else { throw MissingFile() }
            return "  file-text-0123456789  "
        }
        // What was accepted is within the documented bounds.
        require((60...2_592_000).contains(configuration.sessionInactivity), "inactivity \(configuration.sessionInactivity)")
        require(configuration.sessionInactivity <= configuration.sessionExpiration, "inactivity past expiration")
        require(configuration.sessionCookies.count <= 16, "\(configuration.sessionCookies.count) cookie domains")
    } catch let error as CoreError {
        require(error.code == .invalidConfiguration && !error.message.isEmpty, "error \(error.code): \(error.message)")
    } catch {
        require(false, "an error that is not a CoreError: \(error)")
    }
}

/// Counts the values of a read document down from `budget`; false when it runs out or nests too deep.
private func fits(_ value: Any, within budget: inout Int, depth: Int) -> Bool {
    budget -= 1
    guard budget >= 0, depth <= BoundedYAML.maximumDepth + 1 else { return false }
    if let mapping = value as? [AnyHashable: Any] {
        return mapping.allSatisfy { fits($0.key.base, within: &budget, depth: depth + 1) && fits($0.value, within: &budget, depth: depth + 1) }
    }
    if let list = value as? [Any] {
        return list.allSatisfy { fits($0, within: &budget, depth: depth + 1) }
    }
    return true
}

extension Array where Element == Substring {
    /// The first two elements as strings ("" for a missing one).
    var pairOfStrings: (String, String) { (first.map(String.init) ?? "", dropFirst().first.map(String.init) ?? "") }
}
