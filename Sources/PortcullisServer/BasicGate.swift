public import PortcullisCore
public import PortcullisStore

/// Checks HTTP Basic credentials that are not lingering yet: an app password, or the user's
/// password followed by the current code. Slow on purpose (a password hash), so only reached when
/// the in-memory ``BasicLingerCache`` has nothing.
public struct BasicGate: Sendable {
    public enum Outcome: Sendable, Equatable {
        case allowed(Identity, userID: Int64, appPasswordID: Int64?)
        case refused
        case banned(Ban)
    }

    let authenticator: Authenticator
    let regulator: Regulator
    let store: any Store

    public init(authenticator: Authenticator, regulator: Regulator, store: any Store) {
        self.authenticator = authenticator
        self.regulator = regulator
        self.store = store
    }

    public func check(_ credentials: BasicCredentials, client: IPAddress, now: Int64) async throws -> Outcome {
        let typedName = Portal.validName(credentials.user)
        if let ban = try await regulator.activeBan(userName: typedName, client: client, now: now) { return .banned(ban) }

        if AppPassword.looksLikeOne(credentials.password),
           let (appPassword, user) = try await store.appPassword(hash: AppPassword.storageHash(of: credentials.password)),
           user.name.lowercased() == credentials.user.lowercased() {
            guard appPassword.isValid(at: now), !user.disabled else {
                return try await refuse(reason: user.disabled ? "user_disabled" : "expired_app_password", userName: user.name, userID: user.id, wrongCode: false, client: client, now: now)
            }
            try await store.touchAppPassword(id: appPassword.id, at: now)
            try await regulator.succeeded(user: user, client: client, now: now, method: "app_password:\(appPassword.label)")
            return .allowed(Identity(user: user.name, groups: user.groups, name: user.displayName, email: user.email), userID: user.id, appPasswordID: appPassword.id)
        }

        // The code's length is the device's digit count; try each count the user's devices have.
        var lengths: Set<Int> = [6]
        if !typedName.isEmpty, let user = try await store.user(named: typedName) {
            lengths = Set(try await store.devices(ofUserID: user.id).map(\.parameters.digits))
            if lengths.isEmpty { lengths = [6] }
        }
        var splits = credentials.splits(codeLengths: lengths)
        // In otp_only mode the Basic password may be the code alone.
        if authenticator.mode == .otpOnly { splits.insert((password: "", code: credentials.password), at: 0) }
        var last: Authenticator.Outcome = .failure(.badOTP, userName: typedName.isEmpty ? nil : typedName, userID: nil)
        for split in splits.isEmpty ? [(password: credentials.password, code: "")] : splits {
            last = try await authenticator.authenticate(username: credentials.user, password: split.password, code: split.code, now: now)
            if case .success(let user, _) = last {
                try await regulator.succeeded(user: user, client: client, now: now, method: "basic")
                return .allowed(Identity(user: user.name, groups: user.groups, name: user.displayName, email: user.email), userID: user.id, appPasswordID: nil)
            }
            if case .failure(.badPassword, _, _) = last { continue }
            break
        }
        guard case .failure(let reason, let name, let userID) = last else { return .refused }
        return try await refuse(reason: reason.rawValue, userName: name ?? typedName, userID: userID,
                                wrongCode: reason == .badOTP || reason == .replayedOTP, client: client, now: now)
    }

    private func refuse(reason: String, userName: String, userID: Int64?, wrongCode: Bool, client: IPAddress, now: Int64) async throws -> Outcome {
        if let ban = try await regulator.failed(reason: reason, userName: userName, userID: userID, wrongCode: wrongCode, client: client, now: now) {
            return .banned(ban)
        }
        return .refused
    }
}
