/// Reads `access_control.rules` and the named networks (`access_control.networks`, or Authelia 4.38's
/// `definitions.network`) from the YAML tree: they nest deeper than the flat keys can say, and a
/// pattern may hold commas. Every problem is reported, naming the rule, the key and the entry.
enum AccessControlReader {
    /// The YAML paths read here rather than as flat keys.
    static let paths: Set<String> = ["access_control.rules", "access_control.networks", "definitions.network"]
    /// The keys a rule may have.
    static let ruleKeys = ["domain", "domain_regex", "resources", "methods", "networks", "subject", "policy"]

    /// The named networks: `access_control.networks` as `[{name, networks}]`, `definitions.network`
    /// as `{name: [ranges]}`.
    static func networks(_ trees: [String: Any], problems: inout [String]) -> [String: [CIDR]] {
        var named: [String: [CIDR]] = [:]
        func add(_ name: String, _ value: Any?, path: String) {
            guard let entries = strings(value, path: path, problems: &problems) else { return }
            var ranges: [CIDR] = []
            for (index, entry) in entries.enumerated() {
                guard let range = CIDR(entry) else {
                    problems.append("\(path).\(index) is '\(entry)'; allowed: an address or a CIDR range such as 10.0.0.0/8 or fd00::/8.")
                    continue
                }
                ranges.append(range)
            }
            if entries.isEmpty { problems.append("\(path) is empty; a network needs at least one range.") }
            if named[name] != nil { problems.append("\(path): the network name '\(name)' is defined twice.") }
            named[name] = ranges
        }
        if let list = trees["access_control.networks"] {
            if let entries = list as? [Any] {
                for (index, entry) in entries.enumerated() {
                    let path = "access_control.networks.\(index)"
                    guard let mapping = entry as? [String: Any], let name = mapping["name"] as? String, !name.isEmpty else {
                        problems.append("\(path) must be a mapping with a name and networks, such as {name: lan, networks: [192.168.0.0/16]}.")
                        continue
                    }
                    add(name, mapping["networks"], path: path + ".networks")
                }
            } else {
                problems.append("access_control.networks must be a list of {name, networks}.")
            }
        }
        if let mapping = trees["definitions.network"] {
            if let mapping = mapping as? [String: Any] {
                for (name, value) in mapping.sorted(by: { $0.key < $1.key }) { add(name, value, path: "definitions.network.\(name)") }
            } else {
                problems.append("definitions.network must be a mapping of names to lists of ranges.")
            }
        }
        return named
    }

    /// The rules, in order; rules with problems are left out (and reported).
    static func rules(_ value: Any, networks named: [String: [CIDR]], problems: inout [String]) -> [AccessRule] {
        guard let list = value as? [Any] else {
            problems.append("access_control.rules must be a list of rules, each a mapping with a policy.")
            return []
        }
        var rules: [AccessRule] = []
        for (index, entry) in list.enumerated() {
            let path = "access_control.rules.\(index)"
            guard let mapping = entry as? [String: Any] else {
                problems.append("\(path) must be a mapping, such as {domain: app.example.com, policy: two_factor}.")
                continue
            }
            if let rule = rule(mapping, path: path, networks: named, problems: &problems) { rules.append(rule) }
        }
        return rules
    }

    private static func rule(_ mapping: [String: Any], path: String, networks named: [String: [CIDR]], problems: inout [String]) -> AccessRule? {
        let before = problems.count
        for key in mapping.keys.sorted() where !ruleKeys.contains(key) {
            let hint = key == "query" ? " (query conditions are not supported: match the query in resources, which see the path and query)" : ""
            problems.append("\(path).\(key) is not a known key of a rule\(hint). Known keys: \(ruleKeys.joined(separator: ", ")).")
        }
        var policy = AccessPolicy.deny
        if let text = mapping["policy"].flatMap(scalar), let parsed = AccessPolicy(rawValue: text) {
            policy = parsed
        } else {
            problems.append("\(path).policy is \(mapping["policy"].flatMap(scalar).map { "'\($0)'" } ?? "missing"); allowed: bypass, one_factor, two_factor or deny.")
        }
        var domains: [DomainPattern] = []
        for (index, text) in (strings(mapping["domain"], path: path + ".domain", problems: &problems) ?? []).enumerated() {
            guard let domain = DomainPattern(text) else {
                problems.append("\(path).domain.\(index) is '\(text)'; allowed: a host name such as app.example.com, or *.example.com for every name below it.")
                continue
            }
            domains.append(domain)
        }
        let domainPatterns = patterns(mapping["domain_regex"], path: path + ".domain_regex", problems: &problems)
        for (index, pattern) in domainPatterns.enumerated() where pattern.hasUpperCaseLetter {
            problems.append("\(path).domain_regex.\(index) '\(pattern.source)' has upper-case letters, but hosts are matched in lower case, so it could never match; write it in lower case.")
        }
        let resources = patterns(mapping["resources"], path: path + ".resources", problems: &problems)
        var methods: Set<String> = []
        for (index, text) in (strings(mapping["methods"], path: path + ".methods", problems: &problems) ?? []).enumerated() {
            let method = text.uppercased()
            guard AccessRule.knownMethods.contains(method) else {
                problems.append("\(path).methods.\(index) is '\(text)'; allowed: \(AccessRule.knownMethods.sorted().joined(separator: ", ")).")
                continue
            }
            if !methods.insert(method).inserted { problems.append("\(path).methods lists \(method) twice.") }
        }
        var networks: [CIDR] = []
        for (index, text) in (strings(mapping["networks"], path: path + ".networks", problems: &problems) ?? []).enumerated() {
            if let ranges = named[text] {
                networks += ranges
            } else if let range = CIDR(text) {
                networks.append(range)
            } else {
                problems.append("\(path).networks.\(index) is '\(text)'; allowed: an address, a CIDR range such as 192.168.0.0/16, or a name from access_control.networks.")
            }
        }
        var subject: SubjectCondition?
        if let value = mapping["subject"] {
            subject = subjectCondition(value, path: path + ".subject", problems: &problems)
            // An empty subject would match everyone.
            if subject == nil, problems.count == before { problems.append("\(path).subject is empty; name users or groups, or remove the key.") }
        }
        guard problems.count == before else { return nil }
        do {
            return try AccessRule(domains: domains, domainPatterns: domainPatterns, resources: resources, methods: methods, networks: networks,
                                  subject: subject, policy: policy)
        } catch {
            problems.append("\(path) \(error.message).")
            return nil
        }
    }

    /// `subject`: a string, a list of strings (any of them), or a list mixing strings and lists of
    /// strings (each inner list: all of them).
    private static func subjectCondition(_ value: Any, path: String, problems: inout [String]) -> SubjectCondition? {
        let alternatives: [Any] = (value as? [Any]) ?? [value]
        var result: [[SubjectCondition.Term]] = []
        for (index, alternative) in alternatives.enumerated() {
            let texts: [Any] = (alternative as? [Any]) ?? [alternative]
            var terms: [SubjectCondition.Term] = []
            let before = problems.count
            for text in texts {
                guard let text = scalar(text) else {
                    problems.append("\(path).\(index) nests too deep; a subject is 'user:NAME', 'group:NAME', or lists of them.")
                    continue
                }
                do {
                    terms.append(try SubjectCondition.Term(text))
                } catch {
                    problems.append("\(path).\(index): \(error.message).")
                }
            }
            if terms.isEmpty {
                if problems.count == before { problems.append("\(path).\(index) is empty.") }
            } else {
                result.append(terms)
            }
        }
        return result.isEmpty ? nil : SubjectCondition(alternatives: result)
    }

    private static func patterns(_ value: Any?, path: String, problems: inout [String]) -> [ResourcePattern] {
        var compiled: [ResourcePattern] = []
        for (index, text) in (strings(value, path: path, problems: &problems) ?? []).enumerated() {
            do {
                compiled.append(try ResourcePattern(text))
            } catch {
                problems.append("\(path).\(index) '\(text)' \(error.message).")
            }
        }
        return compiled
    }

    /// A string or a list of strings (numbers and flags read as their text); nil when absent.
    private static func strings(_ value: Any?, path: String, problems: inout [String]) -> [String]? {
        guard let value else { return nil }
        if let text = scalar(value) { return [text] }
        guard let list = value as? [Any], case let texts = list.compactMap(scalar), texts.count == list.count else {
            problems.append("\(path) must be a value or a list of values.")
            return nil
        }
        // An empty list would match everything: say so rather than read it as "any".
        guard !texts.isEmpty else {
            problems.append("\(path) is an empty list; give values, or remove the key to match any.")
            return nil
        }
        return texts
    }

    private static func scalar(_ value: Any) -> String? {
        switch value {
        case let text as String: text
        case let number as Int: String(number)
        case let flag as Bool: String(flag)
        default: nil
        }
    }
}
