public import PortcullisCore
public import PortcullisStore

/// Checks HTTP Basic credentials that are not lingering yet: an app password, or the user's
/// password followed by the current code. Slow on purpose (one password hash), so only reached
/// when the in-memory ``BasicLingerCache`` has nothing; counted by regulation before any check.
public struct BasicGate: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Accepted, with the factors the credential stands for (which rules it satisfies).
        case allowed(Identity, level: AuthLevel, userID: Int64, appPasswordID: Int64?)
        case refused
        case banned(Ban)
        /// Not checked: other attempts of the name or address are in flight, or the hash pool is full.
        case busy(retryAfter: Int64)
        /// Not checked: the one-time-code secrets cannot be decrypted (logged; the health check fails).
        case unavailable(retryAfter: Int64)
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
        // With the hash queue full, a credential that needs a hash is answered before it costs the store anything.
        let priority = regulator.returnsAsTold(client, now: now)
        if !AppPassword.looksLikeOne(credentials.password), let retryAfter = authenticator.hashQueueFull(priority: priority) {
            regulator.metrics.login(.busy)
            regulator.toldToRetry(client, after: retryAfter, now: now)
            return .busy(retryAfter: retryAfter)
        }
        let user = typedName.isEmpty ? nil : try await store.user(named: typedName)
        let subject = regulator.subject(typedName: typedName, user: user)
        let ticket: AttemptTicket
        switch try await regulator.begin(subject, client: client, now: now) {
        case .admitted(let admitted): ticket = admitted
        case .banned(let ban): return .banned(ban)
        case .busy(let retryAfter): return .busy(retryAfter: retryAfter)
        }

        if AppPassword.looksLikeOne(credentials.password),
           let (appPassword, owner) = try await store.appPassword(hash: AppPassword.storageHash(of: credentials.password)),
           let user, owner.id == user.id {
            guard appPassword.isValid(at: now), !owner.disabled else {
                return try await refuse(ticket, subject, reason: owner.disabled ? "user_disabled" : "expired_app_password", wrongCodeOf: nil, client: client, now: now)
            }
            try await store.touchAppPassword(id: appPassword.id, at: now)
            try await regulator.succeeded(ticket, user: owner, client: client, now: now, method: "app_password:\(appPassword.label)")
            return .allowed(Identity(owner), level: appPassword.level, userID: owner.id, appPasswordID: appPassword.id)
        }

        // In otp_only mode the Basic password is the code alone; otherwise one split of password
        // and code, chosen so that the attempt costs exactly one password hash.
        let split = authenticator.mode == .otpOnly ? (password: "", code: credentials.password)
            : try await authenticator.basicSplit(of: credentials, user: user, now: now)
        let outcome: Authenticator.Outcome
        do {
            outcome = try await authenticator.authenticate(user: user, password: split.password, code: split.code, now: now,
                                                           priority: priority)
        } catch let error as StoreError where error.code == .busy {
            await regulator.abandoned(ticket, now: now)
            let retryAfter = authenticator.vault.hashPool?.retryAfter ?? 1
            regulator.toldToRetry(client, after: retryAfter, now: now)
            return .busy(retryAfter: retryAfter)
        }
        switch outcome {
        case .unavailable:
            await regulator.abandoned(ticket, now: now)
            return .unavailable(retryAfter: Portal.secretsRetryAfter)
        case .success(let user, let level):
            try await regulator.succeeded(ticket, user: user, client: client, now: now, method: "basic")
            return .allowed(Identity(user), level: level, userID: user.id, appPasswordID: nil)
        case .recoveryCodeUsed:
            // Not asked for: recovery codes are for the login form, never for a credential resent on every request.
            return try await refuse(ticket, subject, reason: "recovery_code_over_basic", wrongCodeOf: nil, client: client, now: now)
        case .failure(let reason, _):
            let wrongCode = authenticator.mode == .passwordAndOTP && (reason == .badOTP || reason == .replayedOTP)
            return try await refuse(ticket, subject, reason: reason.rawValue, wrongCodeOf: wrongCode ? user?.id : nil, client: client, now: now)
        }
    }

    private func refuse(_ ticket: AttemptTicket, _ subject: Regulator.Subject, reason: String, wrongCodeOf: Int64?, client: IPAddress, now: Int64) async throws -> Outcome {
        if let ban = try await regulator.failed(ticket, subject: subject, reason: reason, wrongCodeOf: wrongCodeOf, client: client, now: now) {
            return .banned(ban)
        }
        return .refused
    }
}
