public import PortcullisCore

/// Users and their accounts.
public protocol UserStore: Sendable {
    /// Adds a user; the returned record has its id. Throws ``StoreError/Code/duplicate`` if the name is taken.
    func createUser(_ user: UserRecord) async throws -> UserRecord
    /// The user with this name (case-insensitive), or nil.
    func user(named name: String) async throws -> UserRecord?
    /// Every user, ordered by name.
    func users() async throws -> [UserRecord]
    /// Replaces a user's fields by id. Throws ``StoreError/Code/notFound`` or ``StoreError/Code/duplicate``.
    func updateUser(_ user: UserRecord) async throws
    /// Removes a user and their devices. Throws ``StoreError/Code/notFound``.
    func deleteUser(named name: String) async throws
}

/// OTP devices and the one-time use of their codes.
public protocol OTPDeviceStore: Sendable {
    /// Adds a device. Throws ``StoreError/Code/duplicate`` if the user has a device with that label.
    func addDevice(_ device: OTPDeviceRecord) async throws
    /// A user's devices, oldest first.
    func devices(ofUserID userID: Int64) async throws -> [OTPDeviceRecord]
    /// Removes a device by label (case-insensitive). Throws ``StoreError/Code/notFound``.
    func removeDevice(userID: Int64, label: String) async throws
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
    /// `reseal` receives a sealed value and its context and returns the new sealed value.
    func resealAll(newKeyCheck: [UInt8], reseal: @Sendable ([UInt8], String) throws -> [UInt8]) async throws -> Int
}

/// Everything Portcullis keeps. Each backend (SQLite, PostgreSQL) passes the same contract tests.
public protocol Store: UserStore, OTPDeviceStore, SecretStore, SessionStore {
    /// Answers when the store is reachable (for health checks).
    func ping() async throws
    /// Closes connections; the store is unusable afterwards.
    func close() async throws
}
