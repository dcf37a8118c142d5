extension AccessControl {
    /// Rules that can never decide anything: an earlier rule matches every request they would.
    /// Conservative: only what can be shown from the rules' text is reported (patterns are compared
    /// as written, so `^/a.*` is not known to cover `^/ab`).
    public func shadowedRules() -> [(rule: Int, by: Int)] {
        var found: [(rule: Int, by: Int)] = []
        for (index, rule) in rules.enumerated() {
            if let earlier = rules[..<index].indices.first(where: { rules[$0].covers(rule) }) { found.append((index, earlier)) }
        }
        return found
    }
}

extension AccessRule {
    /// Whether this rule matches every request `other` matches (whoever asks).
    func covers(_ other: AccessRule) -> Bool {
        if let subject, subject != other.subject { return false }
        return coversDomains(of: other) && (resources.isEmpty || Set(resources.map(\.source)).isSuperset(of: other.resources.map(\.source)) && !other.resources.isEmpty)
            && (methods.isEmpty || !other.methods.isEmpty && other.methods.isSubset(of: methods))
            && (networks.isEmpty || !other.networks.isEmpty && other.networks.allSatisfy { range in networks.contains { $0.covers(range) } })
    }

    private func coversDomains(of other: AccessRule) -> Bool {
        if domains.isEmpty && domainPatterns.isEmpty { return true }
        if other.domains.isEmpty && other.domainPatterns.isEmpty { return false }
        let patternsCovered = Set(domainPatterns.map(\.source)).isSuperset(of: other.domainPatterns.map(\.source))
        return patternsCovered && other.domains.allSatisfy { domain in domains.contains { $0.covers(domain) } }
    }
}

extension DomainPattern {
    /// Whether every host `other` matches, this matches too.
    func covers(_ other: DomainPattern) -> Bool {
        if self == other { return true }
        guard isWildcard else { return false }
        // `*.example.com` covers `a.example.com` and `*.a.example.com`, not `example.com`.
        return other.name.utf8.count > name.utf8.count && other.name.hasSuffix(name)
    }
}

extension CIDR {
    /// Whether every address of `other` is in this range.
    func covers(_ other: CIDR) -> Bool {
        prefixLength <= other.prefixLength && contains(other.network)
    }
}
