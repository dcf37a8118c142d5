public import PortcullisCore
import NIOPosix

/// Where the storage key came from, for messages.
public enum StorageKeySource: Sendable, Equatable, CustomStringConvertible {
    case environment(String)
    case file(String)

    public var description: String {
        switch self {
        case .environment(let name): "environment variable \(name)"
        case .file(let path): "key file \(path)"
        }
    }
}

/// The store together with its storage key: users with hashed passwords, devices with encrypted secrets.
///
/// Every slow hash runs on NIO's thread pool, never on an event loop or the caller's executor.
///
/// ```swift
/// let vault = try await Vault.open(store: store, key: key, keySource: .file(path))
/// let alice = try await vault.addUser(UserRecord(name: "alice", createdAt: now), password: "s3cret")
/// ```
public struct Vault: Sendable {
    public let store: any Store
    /// The storage key, which a running server replaces after a rotation elsewhere.
    public let keys: StorageKeyRing
    public let keySource: StorageKeySource
    public let hasher: PasswordHasher
    /// Where password checks run: threads of their own with a bounded queue, when set; else NIO's shared pool.
    public var hashPool: PasswordHashPool?
    /// Stands in for typed names that are no user, in regulation counts, bans, logs and the audit trail.
    /// Derived from the key the vault was opened with, and kept when a server loads a rotated key
    /// (counts and bans of unknown names stay consistent until it restarts).
    public let pseudonyms: NamePseudonym

    /// The box of the current storage key.
    public var box: SecretBox { keys.box }

    static let keyCheckPlaintext = Array("portcullis storage key check v1".utf8)
    static let keyCheckContext = "portcullis storage key check"

    /// Opens the vault, checking that `key` is the one the store's secrets are encrypted with.
    /// A store that has no key check yet (a new one) adopts `key`.
    /// - Throws: ``StoreError/Code/storageKey`` naming the key's source and fingerprint when it does not match.
    public static func open(store: any Store, key: StorageKey, keySource: StorageKeySource, hasher: PasswordHasher = PasswordHasher()) async throws -> Vault {
        let vault = Vault(store: store, keys: StorageKeyRing(box: SecretBox(key: key)), keySource: keySource, hasher: hasher,
                          pseudonyms: NamePseudonym(storageKey: key))
        if try await store.storageKeyCheck() == nil {
            var random = SystemRandomNumberGenerator()
            try await store.setStorageKeyCheckIfAbsent(vault.box.seal(keyCheckPlaintext, context: keyCheckContext, using: &random))
        }
        // Read back: of instances starting at once on a new store, each with a key of its own, only
        // the one whose check was kept may go on.
        if let check = try await store.storageKeyCheck() {
            guard vault.opensKeyCheck(check) else {
                throw StoreError(.storageKey, "The storage key from \(keySource) (fingerprint \(key.fingerprint)) is not the key this database's secrets are encrypted with. Restore the right key from your backup; without it the OTP secrets cannot be read.")
            }
        }
        return vault
    }

    /// Whether a store's key check opens with this vault's key.
    func opensKeyCheck(_ check: [UInt8]) -> Bool {
        box.opensKeyCheck(check)
    }

    /// Whether `key` opens the key check of `store` (nil when the store has none yet).
    public static func keyMatches(_ key: StorageKey, store: any Store) async throws -> Bool? {
        guard let check = try await store.storageKeyCheck() else { return nil }
        return SecretBox(key: key).opensKeyCheck(check)
    }

    // MARK: Users

    /// Adds a user, hashing `password` (when given) off the caller's executor.
    public func addUser(_ user: UserRecord, password: String?) async throws -> UserRecord {
        try UserFieldRules.validate(user)
        guard try await store.user(named: user.name) == nil else {
            throw StoreError(.duplicate, "A user named '\(user.name)' exists already (names ignore case). Choose another name, or change the existing user.")
        }
        var record = user
        if let password { record.passwordHash = try await hashPassword(password) }
        return try await store.createUser(record)
    }

    /// Replaces a user's password. With `endingSessions`, every session of the user ends in the same
    /// transaction; either way, credentials accepted with the old password stop lingering.
    /// - Returns: how many sessions ended.
    @discardableResult
    public func setPassword(userName: String, password: String, endingSessions: Bool) async throws -> Int {
        var user = try await requireUser(userName)
        user.passwordHash = try await hashPassword(password)
        return try await store.updateUser(user, endingSessions: endingSessions)
    }

    /// Hashes `password` again with today's parameters after it matched `user`'s older hash. Unlike
    /// a password change this ends nothing.
    public func rehashPassword(of user: UserRecord, password: String) async throws {
        guard let current = user.passwordHash else { return }
        _ = try await store.replacePasswordHash(userID: user.id, current: current, with: try await hashPassword(password))
    }

    /// Disables or enables a user. Disabling ends every session of the user at once (enabling them
    /// again brings none back) and their lingering credentials.
    /// - Returns: the user as it is now, and how many sessions ended.
    public func setDisabled(userName: String, disabled: Bool) async throws -> (user: UserRecord, endedSessions: Int) {
        var user = try await requireUser(userName)
        user.disabled = disabled
        let ended = try await store.updateUser(user, endingSessions: false)
        return (user, ended)
    }

    /// The user with this name, or a ``StoreError/Code/notFound`` error that says how to list users.
    public func requireUser(_ name: String) async throws -> UserRecord {
        guard let user = try await store.user(named: name) else {
            throw StoreError(.notFound, "No user '\(name)' exists. See the users with: portcullis user list")
        }
        return user
    }

    /// Checks a password against a user's stored hash, on the hash pool when there is one.
    /// - Throws: ``StoreError/Code/busy`` when the hash pool's queue is full.
    public func checkPassword(_ password: String, hash: String) async throws -> PasswordCheck {
        let hasher = self.hasher
        if let hashPool { return try await hashPool.run { try hasher.verify(password, against: hash) } }
        return try await NIOThreadPool.singleton.runIfActive { try hasher.verify(password, against: hash) }
    }

    /// Checks a password so that a failure costs at least one hash of the default strength: when
    /// the stored hash is cheaper (an imported bcrypt of low cost, a legacy hash) and does not
    /// match, `dummyHash` is checked too, so a failing login does not tell what kind of hash the
    /// user has. One check, on the hash pool, either way.
    public func checkPasswordPadded(_ password: String, hash: String, dummyHash: String, priority: Bool = false) async throws -> PasswordCheck {
        let hasher = self.hasher
        let work: @Sendable () throws -> PasswordCheck = {
            let check = (try? hasher.verify(password, against: hash)) ?? .mismatch
            if !check.isMatch, hash != dummyHash, !hasher.isDefaultStrength(hash) {
                _ = try? hasher.verify(password, against: dummyHash)
            }
            return check
        }
        if let hashPool { return try await hashPool.run(priority: priority, work) }
        return try await NIOThreadPool.singleton.runIfActive(work)
    }

    /// A new hash of a password someone chose on a page, on the bounded hash pool when there is one
    /// (so a burst of such requests queues no more hashing than logins may).
    /// - Throws: ``StoreError/Code/busy`` when the pool's queue is full.
    public func hashNewPassword(_ password: String) async throws -> String {
        guard let hashPool else { return try await hashPassword(password) }
        let hasher = self.hasher
        do {
            return try await hashPool.run {
                var random = SystemRandomNumberGenerator()
                return try hasher.hash(password, using: &random)
            }
        } catch let error as CoreError {
            throw StoreError(.invalidInput, error.message)
        }
    }

    /// A new hash of `password` with the default parameters, computed on the thread pool.
    public func hashPassword(_ password: String) async throws -> String {
        let hasher = self.hasher
        do {
            return try await NIOThreadPool.singleton.runIfActive {
                var random = SystemRandomNumberGenerator()
                return try hasher.hash(password, using: &random)
            }
        } catch let error as CoreError {
            throw StoreError(.invalidInput, error.message)
        }
    }

    // MARK: Devices

    /// Adds an OTP device with `secret` (and for mOTP, `pin`) encrypted under the storage key.
    public func addDevice(
        userName: String, label: String, parameters: OTPParameters, secret: [UInt8], pin: String? = nil,
        initialCounter: UInt64 = 0, at unixTime: Int64
    ) async throws -> OTPDeviceRecord {
        let state: OTPDeviceState
        do {
            try parameters.validate()
            state = parameters.type == .hotp ? try OTPDeviceState(nextCounter: initialCounter) : OTPDeviceState()
        } catch let error as CoreError { throw StoreError(.invalidInput, error.message) }
        // mOTP apps use 16 hex digits (8 bytes); HOTP and TOTP secrets need at least 80 bits.
        let minimum = parameters.type == .motp ? 8 : 10
        guard (minimum...128).contains(secret.count) else {
            throw StoreError(.invalidInput, "An OTP secret must be \(minimum) to 128 bytes (\(minimum * 8) to 1024 bits); this one is \(secret.count) bytes.")
        }
        if parameters.type == .motp, pin?.isEmpty ?? true {
            throw StoreError(.invalidInput, "An mOTP device needs the user's mOTP PIN.")
        }
        try OTPDeviceRecord.validateLabel(label)
        let user = try await requireUser(userName)
        let device = sealedDevice(userID: user.id, label: label, parameters: parameters, secret: secret, pin: pin, state: state, at: unixTime)
        try await store.addDevice(device)
        return device
    }

    /// A new device record with a fresh id, its secret (and PIN) sealed under the storage key; not stored yet.
    public func sealedDevice(userID: Int64, label: String, parameters: OTPParameters, secret: [UInt8], pin: String? = nil,
                             state: OTPDeviceState = OTPDeviceState(), at unixTime: Int64) -> OTPDeviceRecord {
        var random = SystemRandomNumberGenerator()
        let id = Hex.encode(SecretGenerator.makeSecret(byteCount: 16, using: &random))
        return OTPDeviceRecord(
            id: id, userID: userID, label: label, parameters: parameters,
            sealedSecret: box.seal(secret, context: OTPDeviceRecord.secretContext(deviceID: id), using: &random),
            sealedPIN: pin.map { box.seal(Array($0.utf8), context: OTPDeviceRecord.pinContext(deviceID: id), using: &random) },
            state: state, createdAt: unixTime
        )
    }

    /// The device's decrypted secret.
    public func secret(of device: OTPDeviceRecord) throws -> [UInt8] {
        do {
            return try box.open(device.sealedSecret, context: OTPDeviceRecord.secretContext(deviceID: device.id))
        } catch let error as CoreError {
            throw StoreError(.storageKey, error.message)
        }
    }

    /// The device's decrypted mOTP PIN ("" for other types).
    public func pin(of device: OTPDeviceRecord) throws -> String {
        guard let sealed = device.sealedPIN else { return "" }
        do {
            return String(decoding: try box.open(sealed, context: OTPDeviceRecord.pinContext(deviceID: device.id)), as: UTF8.self)
        } catch let error as CoreError {
            throw StoreError(.storageKey, error.message)
        }
    }

    /// The device's secret and PIN. When they were sealed under another key than the one held (a
    /// `storage rotate-key` run by another process), the key is loaded again first (``reloadKey()``).
    /// - Throws: ``StoreError/Code/storageKey`` when no key at hand opens them; the problem is then
    ///   kept in ``keys`` for health checks (``StorageKeyRing/problem``).
    public func openDevice(_ device: OTPDeviceRecord) async throws -> (secret: [UInt8], pin: String) {
        if let opened = try? Self.open(device, with: keys.box) {
            keys.reportDamage(nil)
            return opened
        }
        if case .failed(let problem) = try await reloadKey() { throw StoreError(.storageKey, problem) }
        // The key held now opens the store's check. The row may have been read before a rotation
        // committed and the key swapped since (by this login or another): read it again.
        let current = try await store.devices(ofUserID: device.userID).first { $0.id == device.id } ?? device
        do {
            let opened = try Self.open(current, with: keys.box)
            keys.reportDamage(nil)
            return opened
        } catch let error as CoreError {
            let problem = "The secret of device '\(device.label)' (user id \(device.userID)) does not open with the store's own key: " + error.message
            keys.reportDamage(problem)
            throw StoreError(.storageKey, problem)
        }
    }

    /// The device's secret and PIN opened with one box (a key swapped between the two cannot split them).
    private static func open(_ device: OTPDeviceRecord, with box: SecretBox) throws -> (secret: [UInt8], pin: String) {
        let secret = try box.open(device.sealedSecret, context: OTPDeviceRecord.secretContext(deviceID: device.id))
        guard let sealed = device.sealedPIN else { return (secret, "") }
        return (secret, String(decoding: try box.open(sealed, context: OTPDeviceRecord.pinContext(deviceID: device.id)), as: UTF8.self))
    }

    /// Loads the key the store's secrets are now encrypted under, when it is no longer the one held:
    /// from the key file, or from the `.new` file beside it that `storage rotate-key` writes before
    /// it re-encrypts and renames afterwards. A key from the environment cannot change while the
    /// process runs: the failure says to restart with the new one.
    public func reloadKey() async throws -> StorageKeyReload {
        let current = keys.box
        guard let check = try await store.storageKeyCheck(), !current.opensKeyCheck(check) else {
            keys.reportMismatch(nil)
            return .unchanged
        }
        if case .file(let path) = keySource {
            for candidate in [path, path + ".new"] where KeyFile.exists(candidate) {
                guard let text = try? KeyFile.read(candidate), let key = try? StorageKey(text: text, source: candidate) else { continue }
                let box = SecretBox(key: key)
                if box.opensKeyCheck(check) {
                    // A slower reload that read an older check must not undo a newer one's key.
                    guard keys.replace(with: box, ifHolding: current.key.fingerprint) else { return .unchanged }
                    keys.loaded(old: current.key.fingerprint, new: key.fingerprint, source: candidate)
                    return .loaded(oldFingerprint: current.key.fingerprint, newFingerprint: key.fingerprint, source: candidate)
                }
            }
        }
        let problem = switch keySource {
        case .file(let path):
            "The store's secrets are encrypted under a storage key that is neither this server's (\(current.key.fingerprint)) nor the one in \(path); put the key the store now uses into \(path) (it is reloaded within a second), or restore the store that matches this key."
        case .environment(let variable):
            "The store's secrets were re-encrypted under a new storage key (portcullis storage rotate-key), and this server holds the old one (\(current.key.fingerprint)) from \(variable), which cannot change while it runs: restart it with \(variable) set to the new key."
        }
        keys.reportMismatch(problem)
        return .failed(problem)
    }

    /// The device with this label, or a ``StoreError/Code/notFound`` error that lists the user's labels.
    public func requireDevice(userName: String, label: String) async throws -> (UserRecord, OTPDeviceRecord) {
        let user = try await requireUser(userName)
        let devices = try await store.devices(ofUserID: user.id)
        guard let device = devices.first(where: { $0.label.lowercased() == label.lowercased() }) else {
            let labels = devices.map(\.label)
            throw StoreError(.notFound, "User '\(user.name)' has no device labelled '\(label)'" + (labels.isEmpty ? "; they have none." : "; their devices: \(labels.joined(separator: ", ")).") )
        }
        return (user, device)
    }

    // MARK: Key rotation

    /// Re-encrypts every secret under `newKey` in one transaction. If anything fails, nothing changes.
    /// - Returns: how many devices were re-encrypted.
    public func rotate(to newKey: StorageKey) async throws -> Int {
        let oldBox = box
        let newBox = SecretBox(key: newKey)
        var random = SystemRandomNumberGenerator()
        let newCheck = newBox.seal(Self.keyCheckPlaintext, context: Self.keyCheckContext, using: &random)
        do {
            let count = try await store.resealAll(newKeyCheck: newCheck) { sealed, context in
                var random = SystemRandomNumberGenerator()
                return newBox.seal(try oldBox.open(sealed, context: context), context: context, using: &random)
            }
            keys.replace(with: newBox)
            return count
        } catch let error as CoreError {
            throw StoreError(.storageKey, "Nothing was changed: " + error.message)
        }
    }
}

extension SecretBox {
    /// Whether a store's key check opens with this box's key.
    func opensKeyCheck(_ check: [UInt8]) -> Bool {
        (try? open(check, context: Vault.keyCheckContext)) == Vault.keyCheckPlaintext
    }
}
