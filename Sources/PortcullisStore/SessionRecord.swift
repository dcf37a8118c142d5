/// A login session as the store keeps it: only the SHA-256 of its id.
public struct SessionRecord: Sendable, Equatable {
    /// SHA-256 of the session token.
    public var idHash: [UInt8]
    public var userID: Int64
    public var createdAt: Int64
    public var lastActivity: Int64
    public var expiresAt: Int64
    public var clientIP: String
    /// 2 when password and code were given, 1 for a code alone (`auth.mode: otp_only`).
    public var authLevel: Int
    public var rememberMe: Bool
    public var cookieDomain: String

    public init(idHash: [UInt8], userID: Int64, createdAt: Int64, lastActivity: Int64, expiresAt: Int64,
                clientIP: String, authLevel: Int, rememberMe: Bool, cookieDomain: String) {
        self.idHash = idHash
        self.userID = userID
        self.createdAt = createdAt
        self.lastActivity = lastActivity
        self.expiresAt = expiresAt
        self.clientIP = clientIP
        self.authLevel = authLevel
        self.rememberMe = rememberMe
        self.cookieDomain = cookieDomain
    }

    /// A short, non-secret handle for people: the first 12 hex digits of the hash.
    public var shortID: String {
        let digits = Array("0123456789abcdef")
        return String(idHash.prefix(6).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] })
    }
}

/// Server-side sessions.
public protocol SessionStore: Sendable {
    func createSession(_ session: SessionRecord) async throws
    /// Sessions not yet past their absolute expiry, with their users, oldest first.
    func liveSessions(at unixTime: Int64) async throws -> [(SessionRecord, UserRecord)]
    /// How many sessions are not yet past their absolute expiry.
    func liveSessionCount(at unixTime: Int64) async throws -> Int
    /// One user's sessions not yet past their absolute expiry, oldest first.
    func liveSessions(userID: Int64, at unixTime: Int64) async throws -> [(SessionRecord, UserRecord)]
    /// The session with this hash, with its user, when it is not past its absolute expiry.
    func liveSession(idHash: [UInt8], at unixTime: Int64) async throws -> (SessionRecord, UserRecord)?
    /// Records activity (called at most once per tenth of the inactivity window per session).
    func touchSession(idHash: [UInt8], lastActivity: Int64) async throws
    /// Records the activity of many sessions in one transaction (a server stopping writes what only its memory knew).
    func touchSessions(_ touches: [(idHash: [UInt8], lastActivity: Int64)]) async throws
    /// Ends one session; false when it did not exist (then nothing changed and nothing is logged).
    func deleteSession(idHash: [UInt8]) async throws -> Bool
    /// Ends every session whose short id starts with `prefix` (hex), only if exactly one matches.
    func deleteSession(shortIDPrefix prefix: String) async throws -> Int
    /// Ends all sessions of a user.
    func deleteSessions(userID: Int64) async throws -> Int
    /// Ends every session.
    func deleteAllSessions() async throws -> Int
    /// Removes sessions past their absolute expiry, logging each one's end.
    func purgeExpiredSessions(before unixTime: Int64) async throws -> Int
}
