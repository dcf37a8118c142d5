/// One entry of the store's change log: something that really changed and that a running server may
/// hold in memory (a session, a user's identity, what a lingering Basic credential was checked against).
///
/// Every store mutation that changes such data appends its entry in the same transaction; one that
/// changes nothing (a delete that removed no row) appends none. Sequences are assigned by the store,
/// increase, and are never reused; each reader keeps its own cursor, so several servers can share
/// one store.
public struct StoreChange: Sendable, Equatable {
    /// What changed. The raw value is what the store keeps.
    public enum Kind: String, Sendable, CaseIterable {
        /// A session was created (`sessionHash`, `userID`): a server that did not make it may load it.
        case sessionStarted = "session_started"
        /// A session ended: logout, revocation, expiry purge, or its end seen by a server
        /// (`sessionHash`, `userID`).
        case sessionEnded = "session_ended"
        /// Every session and lingering Basic credential ended at once (no payload).
        case allSessionsEnded = "all_sessions_ended"
        /// The user was disabled (`userID`); their sessions ended with it, each logged as ended too.
        case userDisabled = "user_disabled"
        /// The user was enabled again (`userID`).
        case userEnabled = "user_enabled"
        /// The user's password changed (`userID`); sessions that ended with it are logged as ended.
        case userPasswordChanged = "user_password"
        /// The user's name, display name, email or groups changed (`userID`).
        case userDetailsChanged = "user_details"
        /// The user was removed, with their sessions, devices and app passwords (`userID`).
        case userRemoved = "user_removed"
        /// An OTP device was added to the user (`userID`).
        case deviceAdded = "device_added"
        /// One of the user's OTP devices was removed (`userID`).
        case deviceRemoved = "device_removed"
        /// An app password was added to the user (`userID`).
        case appPasswordAdded = "app_password_added"
        /// One of the user's app passwords was removed (`userID`).
        case appPasswordRemoved = "app_password_removed"
        /// Every secret was re-encrypted under a new storage key (no payload): servers load the new key.
        case storageKeyChanged = "storage_key"
        /// The user's lingering HTTP Basic credentials were ended (`portcullis session revoke --user`) (`userID`).
        case basicCredentialsEnded = "basic_credentials_ended"

        /// Whether what was derived from the user's record (their sessions' identity, lingering
        /// credentials) must be read again.
        public var changesUser: Bool {
            switch self {
            case .userDisabled, .userEnabled, .userPasswordChanged, .userDetailsChanged, .userRemoved: true
            default: false
            }
        }

        /// Whether a credential of the user that was accepted earlier must be checked again.
        public var changesCredentials: Bool {
            switch self {
            case .sessionStarted, .sessionEnded, .allSessionsEnded, .storageKeyChanged: false
            default: true
            }
        }
    }

    /// What an update of a user from `old` to `new` changes, as every backend logs it.
    package static func userChanges(from old: UserRecord, to new: UserRecord) -> [Kind] {
        var kinds: [Kind] = []
        if old.disabled != new.disabled { kinds.append(new.disabled ? .userDisabled : .userEnabled) }
        if old.passwordHash != new.passwordHash { kinds.append(.userPasswordChanged) }
        if old.name != new.name || old.displayName != new.displayName || old.email != new.email || old.groups != new.groups {
            kinds.append(.userDetailsChanged)
        }
        return kinds
    }

    /// Assigned by the store; increases with every change.
    public var sequence: Int64
    /// When it was logged, seconds since 1970 (the store's clock).
    public var at: Int64
    public var kind: Kind
    /// The user it concerns; nil for ``Kind/allSessionsEnded`` and ``Kind/storageKeyChanged``.
    public var userID: Int64?
    /// The SHA-256 of the session's token, for ``Kind/sessionStarted`` and ``Kind/sessionEnded``.
    public var sessionHash: [UInt8]?

    public init(sequence: Int64, at: Int64, kind: Kind, userID: Int64?, sessionHash: [UInt8]? = nil) {
        self.sequence = sequence
        self.at = at
        self.kind = kind
        self.userID = userID
        self.sessionHash = sessionHash
    }
}

/// What a reader gets when it asks for the changes after its cursor.
public enum StoreChanges: Sendable, Equatable {
    /// The changes after the cursor, oldest first; when there are `limit` of them, ask again.
    case changes([StoreChange])
    /// Changes after the cursor were pruned already: read everything again, continuing from
    /// `latest` (read before reloading, so nothing is missed).
    case fellBehind(latest: Int64)
}

/// The ordered change log that running servers follow to keep what they hold in memory current.
///
/// A reader starts from ``latestChangeSequence()`` read *before* it loads its state, then applies
/// ``changes(after:limit:)`` in order (applying a change twice must be harmless). A backend makes a
/// change visible only after every change with a smaller sequence (SQLite's single writer does; a
/// server database must serialise the appends), so a reader never skips one.
public protocol ChangeLogStore: Sendable {
    /// The sequence of the last change logged (0 when none ever was).
    func latestChangeSequence() async throws -> Int64
    /// The changes with a sequence above `sequence`, oldest first, at most `limit` (1 to 10 000);
    /// ``StoreChanges/fellBehind(latest:)`` when some of them were pruned, or when `sequence` is
    /// ahead of the log (a store restored from a backup).
    func changes(after sequence: Int64, limit: Int) async throws -> StoreChanges
    /// Forgets all but the newest `count` changes (a reader further behind reloads everything).
    /// Returns how many were removed.
    func pruneChanges(keepingLast count: Int) async throws -> Int
    /// Signals changes logged by any instance as they commit, when the backend can (PostgreSQL's
    /// `NOTIFY`); nil when the log must be polled (SQLite).
    var changeSignal: ChangeSignal? { get }
}

extension ChangeLogStore {
    public var changeSignal: ChangeSignal? { nil }
}
