/// The rules laid out for the decision loop, which runs on every verify: plain values and index
/// ranges into shared pools, walked through buffer pointers, so that deciding retains, releases and
/// allocates nothing (a copy of a rule or a pattern would cost a retain and a release each, which
/// with 50 rules was most of a decision's time).
final class AccessRuleTable: Sendable {
    struct Entry: Sendable {
        var domains: Range<Int>
        var domainPatterns: Range<Int>
        var resources: Range<Int>
        var networks: Range<Int>
        var methodMask: UInt32
    }

    let entries: [Entry]
    let domains: [DomainPattern]
    /// `domain_regex` and `resources` patterns of every rule.
    let patterns: [ResourcePattern]
    let networks: [CIDR]

    init(_ rules: [AccessRule]) {
        var entries: [Entry] = []
        var domains: [DomainPattern] = []
        var patterns: [ResourcePattern] = []
        var networks: [CIDR] = []
        func append<T>(_ items: [T], to pool: inout [T]) -> Range<Int> {
            pool += items
            return (pool.count - items.count)..<pool.count
        }
        for rule in rules {
            entries.append(Entry(domains: append(rule.domains, to: &domains), domainPatterns: append(rule.domainPatterns, to: &patterns),
                                 resources: append(rule.resources, to: &patterns), networks: append(rule.networks, to: &networks),
                                 methodMask: rule.criteria.methodMask))
        }
        self.entries = entries
        self.domains = domains
        self.patterns = patterns
        self.networks = networks
    }

    /// The first rule at or after `start` whose criteria, but the subject, all hold for `request`.
    func firstMatch(_ request: AccessRequest, from start: Int) -> Int? {
        // Strings made here always have contiguous UTF-8; a copy covers any other.
        func withBytes<T>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
            text.utf8.withContiguousStorageIfAvailable(body) ?? Array(text.utf8).withUnsafeBufferPointer(body)
        }
        return withBytes(request.host) { host in
            withBytes(request.target) { target in firstMatch(request, host: host, target: target, from: start) }
        }
    }

    private func firstMatch(_ request: AccessRequest, host: UnsafeBufferPointer<UInt8>, target: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        entries.withUnsafeBufferPointer { entries in
            domains.withUnsafeBufferPointer { domains in
                patterns.withUnsafeBufferPointer { patterns in
                    networks.withUnsafeBufferPointer { networks in
                        for index in start..<entries.count {
                            let entry = entries[index]
                            if !entry.domains.isEmpty || !entry.domainPatterns.isEmpty {
                                let byName = entry.domains.contains { domains[$0].matches(bytes: host) }
                                guard byName || entry.domainPatterns.contains(where: { patterns[$0].matches(request.host, bytes: host) }) else { continue }
                            }
                            if entry.methodMask != 0, entry.methodMask & request.methodBit == 0 { continue }
                            if !entry.networks.isEmpty, !entry.networks.contains(where: { networks[$0].contains(request.client) }) { continue }
                            if !entry.resources.isEmpty, !entry.resources.contains(where: { patterns[$0].matches(request.target, bytes: target) }) {
                                continue
                            }
                            return index
                        }
                        return nil
                    }
                }
            }
        }
    }
}
