/// A `subject` of an access rule: any of several alternatives, each a list of terms that must all
/// hold (`["user:alice", ["group:admins", "group:ops"]]`: alice, or a member of both groups).
public struct SubjectCondition: Sendable, Equatable, CustomStringConvertible {
    public enum Term: Sendable, Equatable, CustomStringConvertible {
        /// `user:NAME`, compared without regard to case (as user names are).
        case user(String)
        /// `group:NAME`, compared exactly.
        case group(String)

        /// Reads `user:NAME` or `group:NAME`.
        public init(_ text: String) throws(CoreError) {
            let trimmed = text.trimmingASCIIWhitespace()
            if trimmed.hasPrefix("user:"), case let name = String(trimmed.dropFirst(5)).trimmingASCIIWhitespace(), !name.isEmpty {
                self = .user(name.lowercased())
            } else if trimmed.hasPrefix("group:"), case let name = String(trimmed.dropFirst(6)).trimmingASCIIWhitespace(), !name.isEmpty {
                self = .group(name)
            } else {
                throw CoreError(.invalidAccessRule, "subject '\(text)' must be 'user:NAME' or 'group:NAME'")
            }
        }

        func holds(for identity: Identity) -> Bool {
            switch self {
            case .user(let name): identity.user.lowercased() == name
            case .group(let name): identity.groups.contains(name)
            }
        }

        public var description: String {
            switch self {
            case .user(let name): "user:" + name
            case .group(let name): "group:" + name
            }
        }
    }

    /// Alternatives; each holds when all its terms do.
    public let alternatives: [[Term]]

    public init(alternatives: [[Term]]) {
        self.alternatives = alternatives
    }

    public func holds(for identity: Identity) -> Bool {
        alternatives.contains { terms in terms.allSatisfy { $0.holds(for: identity) } }
    }

    public var description: String {
        alternatives.map { $0.count == 1 ? $0[0].description : "[" + $0.map(\.description).joined(separator: " and ") + "]" }
            .joined(separator: " or ")
    }
}
