extension AccessControl {
    /// A pattern of a rule that opens more (`bypass`, `one_factor`) which a query can satisfy: a
    /// path it does not match, and a query that makes it match (anyone can add a query to a URL).
    public struct QueryWidening: Sendable, Equatable {
        public let rule: Int
        public let pattern: String
        public let path: String
        public let query: String
    }

    /// The patterns of `bypass` and `one_factor` rules that a query turns from a miss into a match,
    /// with an example of each, for `config check`.
    public func queryWidenings() -> [QueryWidening] {
        rules.enumerated().flatMap { index, rule -> [QueryWidening] in
            guard rule.policy == .bypass || rule.policy == .oneFactor else { return [] }
            return rule.resources.compactMap { pattern in
                pattern.queryWidening().map { QueryWidening(rule: index, pattern: pattern.source, path: $0.path, query: $0.query) }
            }
        }
    }

    /// Patterns whose automaton is large enough that long URLs cost noticeable time (each byte of
    /// a URL costs up to one step per instruction): rule, pattern and its instruction count.
    public func largePatterns(threshold: Int = 1024) -> [(rule: Int, pattern: String, steps: Int)] {
        rules.enumerated().flatMap { index, rule in
            (rule.resources + rule.domainPatterns).filter { $0.programSize > threshold }.map { (index, $0.source, $0.programSize) }
        }
    }
}

extension ResourcePattern {
    /// See ``PatternProgram/queryWidening(budget:)``.
    func queryWidening() -> (path: String, query: String)? { compiled.program.queryWidening() }

    /// Whether the pattern must read an upper-case ASCII letter somewhere (hosts are lower-cased
    /// before `domain_regex` sees them, so such a pattern never matches). Class escapes such as
    /// `\D` are not letters here.
    var hasUpperCaseLetter: Bool {
        compiled.program.instructions.contains { instruction in
            if case .scalar(let scalar) = instruction { return ("A"..."Z").contains(scalar) }
            return false
        }
    }

    /// The number of instructions the pattern compiled to.
    var programSize: Int { compiled.program.instructions.count }
}
