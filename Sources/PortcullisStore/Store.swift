public import PortcullisCore

/// Users and their accounts.
public protocol UserStore: Sendable {
    /// Adds a user; the returned record has its id. Throws ``StoreError/Code/duplicate`` if the name is taken.
    func createUser(_ user: UserRecord) async throws -> UserRecord
    /// The user with this name (case-insensitive), or nil.
    func user(named name: String) async throws -> UserRecord?
    /// Every user, ordered by name.
    func users() async throws -> [UserRecord]
    /// The first `limit` users by name: enough to tell none, one or several apart without reading
    /// every user.
    func users(first limit: Int) async throws -> [UserRecord]
    /// Replaces a user's fields by id, logging what changed; a disabled user's sessions end with it,
    /// and with `endingSessions` every session of the user ends, in the same transaction.
    /// Throws ``StoreError/Code/notFound`` or ``StoreError/Code/duplicate``.
    /// - Returns: how many sessions ended.
    @discardableResult
    func updateUser(_ user: UserRecord, endingSessions: Bool) async throws -> Int
    /// Stores a new hash of the same password (made with today's parameters), only while the stored
    /// hash is still `current`. Logs no change: nothing accepted with the password is affected.
    /// - Returns: false when the stored hash was no longer `current`.
    func replacePasswordHash(userID: Int64, current: String, with newHash: String) async throws -> Bool
    /// A person's own password change: stores `newHash` only while the user is enabled and their
    /// hash is still `current` (nothing an administrator changed meanwhile is overwritten), logs it,
    /// and ends every session of the user, in one transaction.
    /// - Returns: false (changing nothing) when the hash or the user changed meanwhile.
    func changeOwnPassword(userID: Int64, current: String, to newHash: String) async throws -> Bool
    /// Removes a user with their sessions, devices and app passwords. Throws ``StoreError/Code/notFound``.
    func deleteUser(named name: String) async throws
}

extension UserStore {
    /// Replaces a user's fields by id; their sessions end only when the user is disabled.
    public func updateUser(_ user: UserRecord) async throws {
        try await updateUser(user, endingSessions: false)
    }
}

/// OTP devices and the one-time use of their codes.
public protocol OTPDeviceStore: Sendable {
    /// Adds a device. Throws ``StoreError/Code/duplicate`` if the user has a device with that label.
    func addDevice(_ device: OTPDeviceRecord) async throws
    /// A user's devices, oldest first.
    func devices(ofUserID userID: Int64) async throws -> [OTPDeviceRecord]
    /// Removes a device by label (case-insensitive). Throws ``StoreError/Code/notFound``.
    func removeDevice(userID: Int64, label: String) async throws
    /// Removes a device by label unless it is the user's only one (the account page: a user never
    /// removes their last way to log in; recovery codes do not count). Throws
    /// ``StoreError/Code/notFound``, or ``StoreError/Code/conflict`` for the last device.
    func removeDeviceUnlessLast(userID: Int64, label: String) async throws
    /// Gives a device another label. Throws ``StoreError/Code/notFound`` or ``StoreError/Code/duplicate``.
    func renameDevice(userID: Int64, label: String, to newLabel: String) async throws
    /// Records an accepted code, only if nothing at or after its step or counter was accepted yet.
    ///
    /// This is a compare-and-set: of two logins racing with the same code, exactly one gets `true`,
    /// across tasks, processes and restarts.
    func recordAcceptance(deviceID: String, state: OTPDeviceState, at unixTime: Int64) async throws -> Bool
}

/// The storage key check and the re-encryption of every secret.
public protocol SecretStore: Sendable {
    /// The sealed check value that proves which storage key the data is encrypted with; nil in a new store.
    func storageKeyCheck() async throws -> [UInt8]?
    /// Sets the key check value if none is set.
    func setStorageKeyCheckIfAbsent(_ check: [UInt8]) async throws
    /// Re-seals every secret and the key check in one transaction: all or nothing.
    /// `reseal` receives a sealed value and its context and returns the new sealed value. Logs
    /// ``StoreChange/Kind/storageKeyChanged`` in the same transaction, so running servers load the new key.
    func resealAll(newKeyCheck: [UInt8], reseal: @Sendable ([UInt8], String) throws -> [UInt8]) async throws -> Int
    /// A key the instances share (``SharedKey``), sealed under the storage key; nil until one made it.
    func sealedSharedKey(named name: String) async throws -> [UInt8]?
    /// Stores a shared key unless one of that name is stored already (of instances racing, one wins).
    func setSealedSharedKeyIfAbsent(named name: String, _ sealed: [UInt8]) async throws
}

/// Recovery codes, kept as HMACs (``RecoveryCode``) under a key the store keeps sealed.
public protocol RecoveryCodeStore: Sendable {
    /// Replaces the user's recovery codes in one transaction: the old ones stop working.
    func replaceRecoveryCodes(userID: Int64, hashes: [[UInt8]], at unixTime: Int64) async throws
    /// Uses up the user's code with this hash, atomically (of two logins racing with one code, one
    /// wins); the number of codes left, or nil when the user has no such code.
    func useRecoveryCode(userID: Int64, hash: [UInt8]) async throws -> Int?
    /// How many codes the user has left.
    func recoveryCodeCount(userID: Int64) async throws -> Int
    /// The HMAC key of recovery codes, sealed under the storage key; nil before the first codes.
    func sealedRecoveryKey() async throws -> [UInt8]?
    /// Stores the sealed HMAC key unless one is stored already (two commands racing keep one).
    func setSealedRecoveryKeyIfAbsent(_ sealed: [UInt8]) async throws
}

/// Failed logins, bans and the lockout after wrong codes; kept in the store so they survive restarts.
///
/// Each attempt takes its place in the count before it is checked (``reserveAttempt(keys:at:policy:)``)
/// and gives it back or turns it into a failure afterwards (``settleAttempt(_:outcome:at:policy:)``),
/// each in one atomic operation, so no number of concurrent attempts — on one server or several
/// sharing the store — is checked beyond what the policy allows. The rules are the policy's
/// (``RegulationPolicy``); the store only counts and claims.
public protocol RegulationStore: Sendable {
    /// Counts the name's and the address's failures, attempts in flight and bans, asks
    /// ``RegulationPolicy/admission(name:client:now:)`` and, when admitted, records the attempt as
    /// in flight — all in one transaction.
    func reserveAttempt(keys: RegulationKeys, at unixTime: Int64, policy: RegulationPolicy) async throws -> Reservation
    /// Ends an admitted attempt: a success gives its place back and resets the user's wrong-code
    /// count; a failure stays counted, bans whichever key reached ``RegulationPolicy/maxRetries``
    /// (its count then starts again) and, for a wrong code with the right password, counts toward
    /// the lockout.
    func settleAttempt(_ ticket: AttemptTicket, outcome: AttemptOutcome, at unixTime: Int64, policy: RegulationPolicy) async throws -> Settlement
    /// The ban in force on this user name key or this address key that ends last, if any.
    func activeBan(userName: String?, clientIP: String, at unixTime: Int64) async throws -> Ban?
    /// Every ban in force, ending soonest first.
    func activeBans(at unixTime: Int64) async throws -> [Ban]
    /// Lifts a ban and forgets the failures counted toward the next one. Returns how many bans were lifted.
    func removeBan(kind: BanKind, value: String) async throws -> Int
    /// When the user was locked, or nil when they are not.
    func lockedAt(userID: Int64) async throws -> Int64?
    /// Unlocks a user and resets their count. Returns false when they were not locked.
    func unlock(userID: Int64) async throws -> Bool
    /// Forgets failures counted and bans ended before `unixTime`. Returns how many rows went.
    func purgeRegulation(before unixTime: Int64) async throws -> Int
}

/// An attempt the store admitted: it holds a place in the count until it is settled.
public struct AttemptTicket: Sendable, Equatable {
    public let id: Int64
    public let keys: RegulationKeys
    public let startedAt: Int64

    public init(id: Int64, keys: RegulationKeys, startedAt: Int64) {
        self.id = id
        self.keys = keys
        self.startedAt = startedAt
    }
}

/// The store's answer to an attempt asking to start.
public enum Reservation: Sendable, Equatable {
    case admitted(AttemptTicket)
    /// Banned, or busy (``Admission/banned(_:)`` or ``Admission/busy(retryAfter:)``).
    case refused(Admission)
}

/// Passwords for one device each, used with HTTP Basic without a code; kept only as SHA-256.
public protocol AppPasswordStore: Sendable {
    /// Adds one. Throws ``StoreError/Code/duplicate`` if the user has one with that label.
    func addAppPassword(_ record: AppPasswordRecord) async throws -> AppPasswordRecord
    /// A user's app passwords, oldest first.
    func appPasswords(ofUserID userID: Int64) async throws -> [AppPasswordRecord]
    /// The app password with this hash, with its user, if any.
    func appPassword(hash: [UInt8]) async throws -> (AppPasswordRecord, UserRecord)?
    /// Removes one by label (case-insensitive). Throws ``StoreError/Code/notFound``.
    func removeAppPassword(userID: Int64, label: String) async throws
    /// Records a use.
    func touchAppPassword(id: Int64, at unixTime: Int64) async throws
}

extension AuditStore {
    /// Entries since `unixTime`, of one user name when given, oldest first, at most `limit`.
    public func auditEntries(userName: String?, since unixTime: Int64, limit: Int) async throws -> [AuditEntry] {
        try await auditEntries(userName: userName, event: nil, since: unixTime, limit: limit)
    }
}

/// The audit trail.
public protocol AuditStore: Sendable {
    func appendAudit(_ entry: AuditEntry) async throws
    /// Entries since `unixTime`, of one user name and one event when given, oldest first, at most `limit`.
    func auditEntries(userName: String?, event: AuditEntry.Event?, since unixTime: Int64, limit: Int) async throws -> [AuditEntry]
    /// Removes entries older than `unixTime` (`audit.retention`). Returns how many went.
    func purgeAudit(before unixTime: Int64) async throws -> Int
    /// Each user name's last successful login still in the audit trail (names in lower case).
    func lastLogins() async throws -> [String: Int64]
}

/// A user to import with their devices (secrets already sealed) and carried-over wrong-code count.
public struct ImportedUserRecord: Sendable {
    public var user: UserRecord
    public var devices: [OTPDeviceRecord]
    public var otpFailures: Int

    public init(user: UserRecord, devices: [OTPDeviceRecord], otpFailures: Int) {
        self.user = user
        self.devices = devices
        self.otpFailures = otpFailures
    }
}

/// Bulk creation for importers.
public protocol ImportStore: Sendable {
    /// Creates every user with their devices in one transaction: all or nothing (a duplicate name
    /// throws ``StoreError/Code/duplicate`` and nothing is created). Returns how many users were created.
    func importUsers(_ users: [ImportedUserRecord]) async throws -> Int
}

/// Everything Portcullis keeps. Each backend (SQLite, PostgreSQL) passes the same contract tests.
public protocol Store: UserStore, OTPDeviceStore, SecretStore, SessionStore, ChangeLogStore, RegulationStore, AuditStore, AppPasswordStore, ImportStore,
    RecoveryCodeStore, InvitationStore, CopyableStore, BasicLingerStore {
    /// Answers when the store is reachable (for health checks).
    func ping() async throws
    /// Closes connections; the store is unusable afterwards.
    func close() async throws
}
