public import PortcullisCore

/// A password for one device of a user, used with HTTP Basic without a code.
public struct AppPasswordRecord: Sendable, Equatable {
    public var id: Int64
    public var userID: Int64
    /// Unique per user, without regard to case.
    public var label: String
    /// SHA-256 of the password (see `AppPassword`).
    public var hash: [UInt8]
    public var createdAt: Int64
    /// When it stops working; nil for never.
    public var expiresAt: Int64?
    public var lastUsedAt: Int64?
    /// The rules it satisfies: `.passwordAndCode` (the default) opens `two_factor` addresses,
    /// `.password` only `one_factor` ones.
    public var level: AuthLevel

    public init(id: Int64 = 0, userID: Int64, label: String, hash: [UInt8], createdAt: Int64, expiresAt: Int64? = nil, lastUsedAt: Int64? = nil,
                level: AuthLevel = .passwordAndCode) {
        self.id = id
        self.userID = userID
        self.label = label
        self.hash = hash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.level = level
    }

    /// Whether it works at `unixTime`.
    public func isValid(at unixTime: Int64) -> Bool {
        expiresAt.map { unixTime < $0 } ?? true
    }
}
