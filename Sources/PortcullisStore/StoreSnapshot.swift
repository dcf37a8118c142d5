public import PortcullisCore

/// Everything a store holds, read at one instant: what `portcullis storage copy` moves from one
/// store to another (SQLite to PostgreSQL and back). Secrets stay sealed under the storage key they
/// were sealed with; ids are kept, so every reference between rows stays right.
public struct StoreSnapshot: Sendable, Equatable {
    /// A named secret of the store's key-value table (the storage key check, the recovery codes'
    /// key, the shared keys), sealed.
    public struct Secret: Sendable, Equatable {
        public var name: String
        public var sealed: [UInt8]
        public init(name: String, sealed: [UInt8]) {
            self.name = name
            self.sealed = sealed
        }
    }

    /// A recovery code's HMAC and when it was made.
    public struct RecoveryCodeRow: Sendable, Equatable {
        public var userID: Int64
        public var hash: [UInt8]
        public var createdAt: Int64
        public init(userID: Int64, hash: [UInt8], createdAt: Int64) {
            self.userID = userID
            self.hash = hash
            self.createdAt = createdAt
        }
    }

    /// A user's count of wrong codes in a row, and when it locked them.
    public struct LockoutRow: Sendable, Equatable {
        public var userID: Int64
        public var consecutiveFailures: Int
        public var lockedAt: Int64?
        public init(userID: Int64, consecutiveFailures: Int, lockedAt: Int64?) {
            self.userID = userID
            self.consecutiveFailures = consecutiveFailures
            self.lockedAt = lockedAt
        }
    }

    /// A failed login counted toward a ban (or one in flight).
    public struct FailureRow: Sendable, Equatable {
        public var at: Int64
        public var userName: String
        public var clientIP: String
        public var pending: Bool
        public init(at: Int64, userName: String, clientIP: String, pending: Bool) {
            self.at = at
            self.userName = userName
            self.clientIP = clientIP
            self.pending = pending
        }
    }

    public var secrets: [Secret] = []
    public var users: [UserRecord] = []
    public var devices: [OTPDeviceRecord] = []
    public var sessions: [SessionRecord] = []
    public var appPasswords: [AppPasswordRecord] = []
    public var recoveryCodes: [RecoveryCodeRow] = []
    public var invitations: [InvitationRecord] = []
    public var lockouts: [LockoutRow] = []
    public var bans: [Ban] = []
    public var failures: [FailureRow] = []
    /// Oldest first.
    public var audit: [AuditEntry] = []

    public init() {}

    /// How many of each it holds.
    public var counts: StoreCounts {
        StoreCounts(users: users.count, devices: devices.count, sessions: sessions.count, appPasswords: appPasswords.count,
                    recoveryCodes: recoveryCodes.count, invitations: invitations.count, lockouts: lockouts.count, bans: bans.count,
                    failures: failures.count, audit: audit.count, secrets: secrets.count)
    }

    /// The names of the key-value rows a snapshot carries: secrets only, never a backend's bookkeeping.
    package static func carries(_ name: String) -> Bool {
        name == "storage_key_check" || name == "recovery_code_key" || SharedKey.name(fromStored: name) != nil
    }
}

/// How many rows of each kind a store holds, to check a copy against its source.
public struct StoreCounts: Sendable, Equatable, CustomStringConvertible {
    public var users, devices, sessions, appPasswords, recoveryCodes, invitations, lockouts, bans, failures, audit, secrets: Int

    public init(users: Int, devices: Int, sessions: Int, appPasswords: Int, recoveryCodes: Int, invitations: Int, lockouts: Int, bans: Int,
                failures: Int, audit: Int, secrets: Int) {
        (self.users, self.devices, self.sessions, self.appPasswords, self.recoveryCodes) = (users, devices, sessions, appPasswords, recoveryCodes)
        (self.invitations, self.lockouts, self.bans, self.failures, self.audit, self.secrets) = (invitations, lockouts, bans, failures, audit, secrets)
    }

    /// "3 users, 4 OTP devices, 2 sessions, …".
    public var description: String {
        func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }
        return [count(users, "user"), count(devices, "OTP device"), count(sessions, "session"), count(appPasswords, "app password"),
                count(recoveryCodes, "recovery code"), count(invitations, "invitation"), count(lockouts, "lockout record"), count(bans, "ban"),
                count(failures, "counted failure"), "\(audit) audit \(audit == 1 ? "entry" : "entries")",
                count(secrets, "sealed key")].joined(separator: ", ")
    }
}

/// Reading and writing a whole store, for `portcullis storage copy`.
public protocol CopyableStore: Sendable {
    /// Everything the store holds, read in one transaction.
    func snapshot() async throws -> StoreSnapshot
    /// Writes `snapshot` into this store in one transaction: all or nothing. The store must hold no
    /// users, sessions or sealed keys yet (``StoreError/Code/conflict`` otherwise).
    func load(_ snapshot: StoreSnapshot) async throws
    /// How many rows of each kind the store holds now.
    func counts() async throws -> StoreCounts
}
