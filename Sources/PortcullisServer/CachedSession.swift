public import PortcullisCore

/// A live session as the verify endpoints see it: its state, who it belongs to, and what the
/// store last heard of its activity.
public struct CachedSession: Sendable, Equatable {
    public var state: SessionState
    public var identity: Identity
    public var userID: Int64
    /// The last activity written to the store; activity is written at most once per tenth of the
    /// inactivity window.
    public var persistedActivity: Int64
    /// SHA-256 of the token, as the store keeps it.
    public let idHash: [UInt8]
    /// When this server added it (a sequence number), so a reload in flight does not drop it.
    var sequence: UInt64 = 0
    /// The token's own bytes as a key, once this process has seen the token.
    var tokenKey: SessionKey?

    public init(state: SessionState, identity: Identity, userID: Int64, persistedActivity: Int64, idHash: [UInt8]) {
        self.state = state
        self.identity = identity
        self.userID = userID
        self.persistedActivity = persistedActivity
        self.idHash = idHash
    }
}

extension CachedSession {
    /// Takes the newer activity of the copy this server held, and when it added it.
    mutating func merge(activityOf old: CachedSession) {
        state.lastActivity = max(state.lastActivity, old.state.lastActivity)
        persistedActivity = max(persistedActivity, old.persistedActivity)
        sequence = old.sequence
        tokenKey = old.tokenKey
    }
}
