import Logging
public import PortcullisCore
public import PortcullisStore

/// Checks a login: the user, the password (unless `auth.mode` is `otp_only`) and a one-time code,
/// which is then used up. Every failure takes the same path through the slow password hash, so the
/// answer and its timing do not say which part was wrong or whether the user exists.
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

    public enum Outcome: Sendable, Equatable {
        case success(UserRecord, authLevel: Int)
        /// `userName` is the name as typed when it is a valid name, for the log; `userID` is set when
        /// the user exists.
        case failure(Failure, userName: String?, userID: Int64?)
    }

    let vault: Vault
    let mode: AuthMode
    let verifier: OTPVerifier
    /// A hash of a password nobody knows, checked for unknown users so they cost the same time.
    let dummyHash: String

    public init(vault: Vault, configuration: Configuration, dummyHash: String) {
        self.vault = vault
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

    /// Checks a login attempt at `now`.
    /// - Parameter username: as typed; may be empty in `otp_only` mode when there is one user.
    public func authenticate(username: String, password: String, code: String, now: Int64) async throws -> Outcome {
        let typedName = username.trimmingASCIIWhitespace()
        let shownName = (try? UserFieldRules.validateName(typedName)) == nil ? nil : typedName
        let user = try await findUser(typedName: shownName, rawEmpty: typedName.isEmpty)

        if mode == .passwordAndOTP {
            let hash = user?.passwordHash.flatMap { PasswordHasher.isSupported($0) ? $0 : nil } ?? dummyHash
            let check = (try? await vault.checkPassword(password, hash: hash)) ?? .mismatch
            guard let user else { return .failure(.unknownUser, userName: shownName, userID: nil) }
            guard !user.disabled else { return .failure(.disabled, userName: user.name, userID: user.id) }
            // Said whatever the password was, so the answer does not tell whether it was right.
            guard try await vault.store.lockedAt(userID: user.id) == nil else { return .failure(.locked, userName: user.name, userID: user.id) }
            guard user.passwordHash == hash, case .match(let needsRehash) = check else {
                return .failure(.badPassword, userName: user.name, userID: user.id)
            }
            let outcome = try await checkCode(code, user: user, now: now, authLevel: 2)
            if case .success = outcome, needsRehash {
                try? await vault.rehashPassword(of: user, password: password)
            }
            return outcome
        }
        guard let user else { return .failure(.unknownUser, userName: shownName, userID: nil) }
        guard !user.disabled else { return .failure(.disabled, userName: user.name, userID: user.id) }
        guard try await vault.store.lockedAt(userID: user.id) == nil else { return .failure(.locked, userName: user.name, userID: user.id) }
        return try await checkCode(code, user: user, now: now, authLevel: 1)
    }

    /// The user named, or in `otp_only` mode with no name given, the only user.
    func findUser(typedName: String?, rawEmpty: Bool) async throws -> UserRecord? {
        if let typedName { return try await vault.store.user(named: typedName) }
        guard mode == .otpOnly, rawEmpty else { return nil }
        let users = try await vault.store.users()
        return users.count == 1 ? users[0] : nil
    }

    /// Tries the code on each of the user's devices; the first that accepts it is used up, with a
    /// compare-and-set in the store so that of two racing logins only one wins.
    func checkCode(_ code: String, user: UserRecord, now: Int64, authLevel: Int) async throws -> Outcome {
        let devices = try await vault.store.devices(ofUserID: user.id)
        guard !devices.isEmpty else { return .failure(.noDevice, userName: user.name, userID: user.id) }
        var replayed = false
        for device in devices {
            let verdict = verifier.verify(code: code, secret: try vault.secret(of: device), parameters: device.parameters,
                                          state: device.state, at: now, pin: try vault.pin(of: device))
            switch verdict {
            case .accepted(let acceptance):
                if try await vault.store.recordAcceptance(deviceID: device.id, state: acceptance.newState, at: now) {
                    return .success(user, authLevel: authLevel)
                }
                replayed = true
            case .rejected(.replayed):
                replayed = true
            case .rejected:
                continue
            }
        }
        return .failure(replayed ? .replayedOTP : .badOTP, userName: user.name, userID: user.id)
    }
}
