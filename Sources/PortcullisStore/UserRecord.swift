/// A person who can log in.
public struct UserRecord: Sendable, Equatable, Codable {
    public var id: Int64
    /// Unique, compared without regard to case; 1–64 characters of letters, digits and `.`, `_`, `-`, `@`.
    public var name: String
    public var displayName: String
    public var email: String
    public var groups: [String]
    /// A `$scrypt$` or bcrypt hash; nil for users who log in with a code only.
    public var passwordHash: String?
    public var disabled: Bool
    /// Seconds since 1970.
    public var createdAt: Int64

    public init(id: Int64 = 0, name: String, displayName: String = "", email: String = "", groups: [String] = [],
                passwordHash: String? = nil, disabled: Bool = false, createdAt: Int64) {
        self.id = id
        self.name = name
        self.displayName = displayName
        self.email = email
        self.groups = groups
        self.passwordHash = passwordHash
        self.disabled = disabled
        self.createdAt = createdAt
    }
}

/// Checks on user fields, shared by every store and the CLI.
public enum UserFieldRules {
    public static let maximumNameLength = 64
    public static let maximumTextLength = 256
    public static let maximumGroups = 64

    /// Throws ``StoreError/Code/invalidInput`` naming the field and what is allowed.
    public static func validate(_ user: UserRecord) throws {
        try validateName(user.name)
        guard user.displayName.utf8.count <= maximumTextLength, !user.displayName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw StoreError(.invalidInput, "The display name must be one line of at most \(maximumTextLength) bytes, without control characters.")
        }
        guard user.email.utf8.count <= maximumTextLength,
              !user.email.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) else {
            throw StoreError(.invalidInput, "The email address must have no spaces or control characters and at most \(maximumTextLength) bytes.")
        }
        guard user.groups.count <= maximumGroups else {
            throw StoreError(.invalidInput, "A user can be in at most \(maximumGroups) groups.")
        }
        for group in user.groups {
            guard isToken(group, maximumLength: maximumNameLength) else {
                throw StoreError(.invalidInput, "The group name '\(group)' is not allowed; use 1–\(maximumNameLength) letters, digits, '.', '_', '-' or '@'.")
            }
        }
    }

    /// Throws when `name` is not a valid user name.
    public static func validateName(_ name: String) throws {
        guard isToken(name, maximumLength: maximumNameLength) else {
            throw StoreError(.invalidInput, "The user name '\(name)' is not allowed; use 1–\(maximumNameLength) letters, digits, '.', '_', '-' or '@'.")
        }
    }

    static func isToken(_ text: String, maximumLength: Int) -> Bool {
        !text.isEmpty && text.utf8.count <= maximumLength && text.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-", "@": true
            default: false
            }
        }
    }
}
