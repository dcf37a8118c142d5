public import Logging
public import PortcullisCore
public import PortcullisStore

/// Checks a login: the password (unless `auth.mode` is `otp_only`) and a one-time code, which is
/// then used up. Every failure before the right password takes the same path through exactly one
/// slow password hash of the default strength, so neither the answer nor its timing says which part
/// was wrong, whether the user exists, is disabled or locked, or what kind of hash they have.
/// After the right password, a failure may say what helps (``Hint``).
public struct Authenticator: Sendable {
    /// Why a login failed; logged and audited, never shown.
    public enum Failure: String, Sendable, Equatable {
        case unknownUser = "unknown_user"
        case badPassword = "bad_password"
        case badOTP = "bad_otp"
        case replayedOTP = "replayed_otp"
        case disabled = "user_disabled"
        case noDevice = "no_otp_device"
        /// Locked after too many wrong codes in a row, until `portcullis user unlock`.
        case locked
    }

    /// What may be said to someone who gave the right password.
    public enum Hint: Sendable, Equatable {
        /// The code was used already.
        case replayed
        /// The code belongs to a time this many seconds away from now (the device's clock is off).
        case clockOff(seconds: Int64)
        /// The account is locked after too many wrong codes.
        case locked
    }

    public enum Outcome: Sendable, Equatable {
        /// Accepted, with the factors that were given.
        case success(UserRecord, level: AuthLevel)
        /// Accepted with a recovery code in place of a one-time code (used up now); `remaining` left.
        case recoveryCodeUsed(UserRecord, level: AuthLevel, remaining: Int)
        /// `hint` is set only when the password was right (or in `otp_only` mode, never).
        case failure(Failure, hint: Hint?)
        /// Not decided: the user's one-time-code secrets cannot be decrypted (the storage key is
        /// wrong; logged as an error and reported by the health check). Counts as no attempt.
        case unavailable
    }

    let vault: Vault
    let mode: AuthMode
    let verifier: OTPVerifier
    /// A hash of a password nobody knows, checked for unknown users so they cost the same time.
    let dummyHash: String
    let logger: Logger

    public init(vault: Vault, configuration: Configuration, dummyHash: String, logger: Logger = Logger(label: "portcullis")) {
        self.vault = vault
        self.logger = logger
        self.mode = configuration.authMode
        self.verifier = OTPVerifier(timeSkew: configuration.totpSkew, counterLookAhead: configuration.hotpLookAhead)
        self.dummyHash = dummyHash
    }

    /// A fresh dummy hash with the vault's hasher (about one password hash of time).
    public static func makeDummyHash(vault: Vault) async throws -> String {
        var random = SystemRandomNumberGenerator()
        let password = Base64.encode(SecretGenerator.makeSecret(byteCount: 24, using: &random))
        return try await vault.hashPassword(password)
    }

    /// The user a login names: by name, or in `otp_only` mode with no name given, the only user.
    /// - Parameter typedName: the name as typed when it is a valid user name, else "".
    public func findUser(typedName: String) async throws -> UserRecord? {
        if !typedName.isEmpty { return try await vault.store.user(named: typedName) }
        guard mode == .otpOnly else { return nil }
        let users = try await vault.store.users(first: 2)
        return users.count == 1 ? users[0] : nil
    }

    /// Checks a login attempt of `user` (nil: the name is no user's) at `now`.
    /// - Parameters:
    ///   - priority: the client came back when told to, and may use the hash pool's reserved places.
    ///   - passwordSuffices: the address needs one factor, so the right password with no code is a
    ///     success of level ``AuthLevel/password`` (a code, when given, is still checked).
    ///   - recoveryCodes: whether a recovery code may stand in for the one-time code (the login
    ///     form: yes; HTTP Basic: never, a credential resent on every request cannot be used once).
    /// - Throws: ``StoreError/Code/busy`` when the hash pool is full (the attempt was not checked).
    public func authenticate(user: UserRecord?, password: String, code: String, now: Int64, priority: Bool = false,
                             passwordSuffices: Bool = false, recoveryCodes: Bool = false) async throws -> Outcome {
        guard mode == .passwordAndOTP else {
            guard let user else { return .failure(.unknownUser, hint: nil) }
            guard !user.disabled else { return .failure(.disabled, hint: nil) }
            guard try await vault.store.lockedAt(userID: user.id) == nil else { return .failure(.locked, hint: nil) }
            return try await checkCode(code, user: user, now: now, level: .code, recoveryCodes: recoveryCodes)
        }
        let hash = user?.passwordHash.flatMap { PasswordHasher.isSupported($0) ? $0 : nil } ?? dummyHash
        let check = try await vault.checkPasswordPadded(password, hash: hash, dummyHash: dummyHash, priority: priority)
        guard let user else { return .failure(.unknownUser, hint: nil) }
        guard !user.disabled else { return .failure(.disabled, hint: nil) }
        guard user.passwordHash == hash, case .match(let needsRehash) = check else { return .failure(.badPassword, hint: nil) }
        // The password was right: from here the answer may say what helps.
        guard try await vault.store.lockedAt(userID: user.id) == nil else { return .failure(.locked, hint: .locked) }
        let outcome = passwordSuffices && code.isEmpty ? .success(user, level: .password)
            : try await checkCode(code, user: user, now: now, level: .passwordAndCode, recoveryCodes: recoveryCodes)
        switch outcome {
        case .success, .recoveryCodeUsed:
            if needsRehash { try? await vault.rehashPassword(of: user, password: password) }
        case .failure, .unavailable:
            break
        }
        return outcome
    }

    /// Checks the code of `user`, whose session passed the password already (step-up to two factors).
    public func stepUp(user: UserRecord, code: String, now: Int64) async throws -> Outcome {
        guard !user.disabled else { return .failure(.disabled, hint: nil) }
        guard try await vault.store.lockedAt(userID: user.id) == nil else { return .failure(.locked, hint: .locked) }
        return try await checkCode(code, user: user, now: now, level: .passwordAndCode, recoveryCodes: true)
    }

    /// When a login that needs a password hash would find the hash queue full: the seconds to
    /// tell the client to wait; nil when there is room (or nothing to hash in `otp_only` mode).
    /// Advisory — the pool enforces its bound itself — but it spares the store the attempts that
    /// would be turned away anyway.
    public func hashQueueFull(priority: Bool) -> Int64? {
        guard mode == .passwordAndOTP, let pool = vault.hashPool else { return nil }
        return pool.hasRoom(priority: priority) ? nil : pool.retryAfter
    }

    /// Which split of a Basic password into password and code to check, so that a Basic attempt
    /// costs exactly one password hash whatever code lengths the user's devices have: the split
    /// whose code a device accepts (or has accepted before), else the one of the first device's length.
    public func basicSplit(of credentials: BasicCredentials, user: UserRecord?, now: Int64) async throws -> (password: String, code: String) {
        var devices: [OTPDeviceRecord] = []
        if let user { devices = try await vault.store.devices(ofUserID: user.id) }
        var lengths = Set(devices.map(\.parameters.digits))
        if lengths.isEmpty { lengths = [6] }
        let splits = credentials.splits(codeLengths: lengths)
        var replayed: (password: String, code: String)?
        for split in splits {
            for device in devices where device.parameters.digits == split.code.count {
                guard let (secret, pin) = try? await vault.openDevice(device) else { continue }
                switch verifier.verify(code: split.code, secret: secret, parameters: device.parameters, state: device.state, at: now, pin: pin) {
                case .accepted: return split
                case .rejected(.replayed): replayed = replayed ?? split
                case .rejected: continue
                }
            }
        }
        let firstLength = devices.first?.parameters.digits ?? 6
        return replayed ?? splits.first { $0.code.count == firstLength } ?? splits.first ?? (credentials.password, "")
    }

    /// Tries the code on each of the user's devices; the first that accepts it is used up, with a
    /// compare-and-set in the store so that of two racing logins only one wins. With
    /// `recoveryCodes`, a code no device accepts that is shaped like a recovery code is tried as one.
    func checkCode(_ code: String, user: UserRecord, now: Int64, level: AuthLevel, recoveryCodes: Bool = false) async throws -> Outcome {
        let stored = try await vault.store.devices(ofUserID: user.id)
        if recoveryCodes, RecoveryCode.normalized(code) != nil {
            // No one-time code has this shape, so the devices need not be asked.
            do {
                if let remaining = try await vault.useRecoveryCode(code, of: user) { return .recoveryCodeUsed(user, level: level, remaining: remaining) }
            } catch let error as StoreError where error.code == .storageKey {
                logger.error("cannot open the recovery codes' key; recovery codes fail until the storage key is right",
                             metadata: ["user": "\(user.name)", "error": "\(error.message)"])
                return .unavailable
            }
            return .failure(.badOTP, hint: nil)
        }
        guard !stored.isEmpty else { return .failure(.noDevice, hint: nil) }
        var devices: [(device: OTPDeviceRecord, secret: [UInt8], pin: String)] = []
        for device in stored {
            do {
                let (secret, pin) = try await vault.openDevice(device)
                devices.append((device, secret, pin))
            } catch let error as StoreError where error.code == .storageKey {
                logger.error("cannot decrypt a one-time-code secret; logins with codes fail until the storage key is right",
                             metadata: ["user": "\(user.name)", "device": "\(device.label)", "error": "\(error.message)"])
                return .unavailable
            }
        }
        var replayed = false
        for (device, secret, pin) in devices {
            let verdict = verifier.verify(code: code, secret: secret, parameters: device.parameters, state: device.state, at: now, pin: pin)
            switch verdict {
            case .accepted(let acceptance):
                if try await vault.store.recordAcceptance(deviceID: device.id, state: acceptance.newState, at: now) {
                    return .success(user, level: level)
                }
                replayed = true
            case .rejected(.replayed):
                replayed = true
            case .rejected:
                continue
            }
        }
        let hints = mode == .passwordAndOTP
        if replayed { return .failure(.replayedOTP, hint: hints ? .replayed : nil) }
        guard hints else { return .failure(.badOTP, hint: nil) }
        for (device, secret, pin) in devices {
            if let offset = verifier.clockOffset(of: code, secret: secret, parameters: device.parameters, at: now, pin: pin) {
                return .failure(.badOTP, hint: .clockOff(seconds: offset))
            }
        }
        return .failure(.badOTP, hint: nil)
    }
}
