public import Logging
public import PortcullisCore
public import PortcullisStore

/// Bans, lockouts, the audit trail and the failure log line, around each login.
///
/// Every failure writes one line in a stable format that fail2ban can match:
/// `authentication failed user=alice client_ip=203.0.113.7 reason=bad_otp`
/// (`user=-` when the name typed is not a valid user name). Passwords and codes never appear.
public struct Regulator: Sendable {
    let store: any Store
    let policy: RegulationPolicy
    let logger: Logger

    public init(store: any Store, policy: RegulationPolicy, logger: Logger) {
        self.store = store
        self.policy = policy
        self.logger = logger
    }

    /// The ban in force on this name or address, if any; such an attempt is logged and audited as
    /// `banned` and goes no further (no hashing, no code check).
    public func activeBan(userName: String, client: IPAddress, now: Int64) async throws -> Ban? {
        guard let ban = try await store.activeBan(userName: userName.isEmpty ? nil : userName, clientIP: client.description, at: now) else { return nil }
        try await logFailure(reason: "banned", userName: userName, client: client, now: now)
        return ban
    }

    /// Records a failed login: the log line, the audit entry, the counts toward a ban and, for a
    /// wrong code, toward the lockout. Returns a ban this failure started, if any.
    public func failed(reason: String, userName: String, userID: Int64?, wrongCode: Bool, client: IPAddress, now: Int64) async throws -> Ban? {
        try await logFailure(reason: reason, userName: userName, client: client, now: now)
        let bans = try await store.recordFailure(userName: userName, clientIP: client.description, at: now, policy: policy)
        for ban in bans {
            logger.warning("banned \(ban.kind.rawValue)=\(ban.value) until=\(ban.until) after \(policy.maxRetries) failed logins")
            try await store.appendAudit(AuditEntry(time: now, event: .banned, userName: ban.kind == .user ? ban.value : "", clientIP: ban.kind == .ip ? ban.value : "",
                                                   reason: "\(policy.maxRetries) failures within \(policy.findTime) s"))
        }
        if wrongCode, let userID, try await store.recordOTPFailure(userID: userID, at: now, limit: policy.maxOTPFailures) {
            logger.warning("locked user=\(userName) after \(policy.maxOTPFailures) wrong codes in a row; unlock with: portcullis user unlock \(userName)")
            try await store.appendAudit(AuditEntry(time: now, event: .locked, userName: userName, clientIP: client.description, reason: "\(policy.maxOTPFailures) wrong codes"))
        }
        return bans.max { $0.until < $1.until }
    }

    /// Records a good login; `method` (`form`, `basic`, `app_password:LABEL`) goes to the audit entry.
    public func succeeded(user: UserRecord, client: IPAddress, now: Int64, method: String = "form") async throws {
        logger.info("authentication succeeded user=\(user.name) client_ip=\(client) method=\(method.split(separator: ":").first ?? "")")
        try await store.clearOTPFailures(userID: user.id)
        try await store.appendAudit(AuditEntry(time: now, event: .loginSucceeded, userName: user.name, clientIP: client.description, reason: method))
    }

    /// Records a logout.
    public func loggedOut(userName: String, client: IPAddress, now: Int64) async throws {
        logger.info("logged out user=\(userName) client_ip=\(client)")
        try await store.appendAudit(AuditEntry(time: now, event: .logout, userName: userName, clientIP: client.description))
    }

    private func logFailure(reason: String, userName: String, client: IPAddress, now: Int64) async throws {
        logger.notice("authentication failed user=\(userName.isEmpty ? "-" : userName) client_ip=\(client) reason=\(reason)")
        try await store.appendAudit(AuditEntry(time: now, event: .loginFailed, userName: userName, clientIP: client.description, reason: reason))
    }
}
