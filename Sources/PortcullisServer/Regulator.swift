public import Logging
public import PortcullisCore
public import PortcullisStore
import Synchronization

/// Bans, lockouts, the audit trail and the failure log line, around each login attempt.
///
/// An attempt first takes its place in the store's count (``begin(_:client:now:)``), is then checked,
/// and is settled (``failed(_:reason:userID:wrongCodeOf:client:now:)`` or ``succeeded(_:user:client:now:method:)``),
/// so concurrent attempts never check more passwords or codes than the policy allows.
///
/// Every failure writes one line in a stable format that fail2ban can match:
/// `authentication failed user=alice client_ip=203.0.113.7 reason=bad_otp`
/// (`user=-` when no valid name was typed, `user=~3fa9c2d1e0b4` — a pseudonym — when the name is
/// no user's, so a password typed into the name field is never written). Refusals of a banned key
/// are aggregated: at most one line and one audit entry per key per minute, `reason=banned:N`
/// saying how many refusals it stands for. Passwords and codes never appear.
public final class Regulator: Sendable {
    let store: any Store
    /// `regulation.*` now (it follows reloads).
    private let currentPolicy: @Sendable () -> RegulationPolicy
    var policy: RegulationPolicy { currentPolicy() }
    let pseudonyms: NamePseudonym
    let logger: Logger
    let metrics: GateMetrics
    private let refusals = Mutex(RefusalDigest())
    /// Keys with attempts in flight on this server, so an attempt waits for its turn here, in
    /// memory, instead of asking the store again and again (the store still decides, for every
    /// server sharing it). An entry left by an attempt that never settled expires.
    private let local = Mutex<[String: [ContinuousClock.Instant]]>([:])
    private let line = Mutex(RetryLine())
    /// How long an attempt waits for its name or address to be free before it is answered "busy".
    let busyWait: Duration

    /// - Parameter policy: the policy in force, asked at each use.
    public init(store: any Store, policy: @escaping @Sendable () -> RegulationPolicy, pseudonyms: NamePseudonym, logger: Logger,
                busyWait: Duration = .seconds(2), metrics: GateMetrics = .off) {
        self.currentPolicy = policy
        self.store = store
        self.metrics = metrics
        self.pseudonyms = pseudonyms
        self.logger = logger
        self.busyWait = busyWait
    }

    /// Who an attempt is counted as: the user it names when there is one, the name's pseudonym
    /// when the name is no user's, nothing when no valid name was typed.
    public struct Subject: Sendable {
        /// The key the store counts the name under ("" for none).
        public let key: String
        /// The name as logged and audited (the user's own name, a pseudonym, or "").
        public let shown: String
        public let user: UserRecord?
    }

    public func subject(typedName: String, user: UserRecord?) -> Subject {
        if let user { return Subject(key: user.name.lowercased(), shown: user.name, user: user) }
        guard !typedName.isEmpty else { return Subject(key: "", shown: "", user: nil) }
        let pseudonym = pseudonyms.of(typedName)
        return Subject(key: pseudonym, shown: pseudonym, user: nil)
    }

    /// What ``begin(_:client:now:)`` decided.
    public enum Start: Sendable, Equatable {
        case admitted(AttemptTicket)
        case banned(Ban)
        case busy(retryAfter: Int64)
    }

    /// Claims a place for an attempt; waits up to ``busyWait`` while other attempts of the same
    /// name or address are being checked. A refusal of a banned key is logged and audited, aggregated.
    public func begin(_ subject: Subject, client: IPAddress, now: Int64) async throws -> Start {
        let keys = RegulationKeys(name: subject.key, client: RegulationKeys.clientKey(client, policy: policy))
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: busyWait)
        while true {
            guard claimLocally(keys, clock: clock) else {
                guard clock.now < deadline else {
                    metrics.login(.busy)
                    return .busy(retryAfter: 1)
                }
                try await Task.sleep(for: .milliseconds(10))
                continue
            }
            let reservation: Reservation
            do {
                reservation = try await store.reserveAttempt(keys: keys, at: now, policy: policy)
            } catch {
                releaseLocally(keys)
                throw error
            }
            switch reservation {
            case .admitted(let ticket):
                return .admitted(ticket)
            case .refused(.banned(let ban)):
                releaseLocally(keys)
                metrics.login(.banned)
                try await refusedBanned(ban, subject: subject, client: client, now: now)
                return .banned(ban)
            case .refused(.busy(let retryAfter)):
                // Attempts of another server sharing the store, or failures that fill the budget.
                releaseLocally(keys)
                guard clock.now < deadline else {
                    metrics.login(.busy)
                    return .busy(retryAfter: retryAfter)
                }
                try await Task.sleep(for: .milliseconds(100))
            case .refused(.admitted):
                releaseLocally(keys)
                metrics.login(.busy)
                return .busy(retryAfter: 1)
            }
        }
    }

    /// The keys' places on this server: taken when both have fewer than `max_in_flight` attempts here.
    private func claimLocally(_ keys: RegulationKeys, clock: ContinuousClock) -> Bool {
        let now = clock.now
        let expiry = Duration.seconds(RegulationPolicy.inFlightExpiry)
        return local.withLock { local in
            let names = [keys.name, "ip:" + keys.client].filter { $0 != "" && $0 != "ip:" }
            for name in names {
                local[name] = local[name]?.filter { now - $0 < expiry }
                if local[name]?.isEmpty == true { local[name] = nil }
                if local[name, default: []].count >= policy.maxInFlight { return false }
            }
            for name in names { local[name, default: []].append(now) }
            return true
        }
    }

    private func releaseLocally(_ keys: RegulationKeys) {
        local.withLock { local in
            for name in [keys.name, "ip:" + keys.client] where local[name] != nil {
                local[name]?.removeFirst()
                if local[name]?.isEmpty == true { local[name] = nil }
            }
        }
    }

    /// Settles a failed attempt: the log line, the audit entry, the counts toward a ban and, for a
    /// wrong code given with the right password, toward the lockout. Returns a ban this failure started, if any.
    public func failed(_ ticket: AttemptTicket, subject: Subject, reason: String, wrongCodeOf userID: Int64?, client: IPAddress, now: Int64) async throws -> Ban? {
        defer { releaseLocally(ticket.keys) }
        metrics.login(.failed)
        logFailure(reason: reason, shown: subject.shown, client: client)
        try await store.appendAudit(AuditEntry(time: now, event: .loginFailed, userName: subject.shown, clientIP: client.description, reason: reason))
        let settlement = try await store.settleAttempt(ticket, outcome: .failed(wrongCodeOf: userID), at: now, policy: policy)
        for ban in settlement.bans {
            logger.warning("banned \(ban.kind.rawValue)=\(ban.value) until=\(ban.until) after \(policy.maxRetries) failed logins")
            try await store.appendAudit(AuditEntry(time: now, event: .banned, userName: ban.kind == .user ? subject.shown : "", clientIP: ban.kind == .ip ? ban.value : "",
                                                   reason: "\(policy.maxRetries) failures within \(policy.findTime) s"))
        }
        if settlement.locked {
            logger.warning("locked user=\(subject.shown) after \(policy.maxOTPFailures) wrong codes in a row; unlock with: portcullis user unlock \(subject.shown)")
            try await store.appendAudit(AuditEntry(time: now, event: .locked, userName: subject.shown, clientIP: client.description, reason: "\(policy.maxOTPFailures) wrong codes"))
        }
        return settlement.bans.max { $0.until < $1.until }
    }

    /// Settles a good login; `method` (`form`, `basic`, `app_password:LABEL`) goes to the audit entry.
    public func succeeded(_ ticket: AttemptTicket, user: UserRecord, client: IPAddress, now: Int64, method: String = "form") async throws {
        logger.info("authentication succeeded user=\(user.name) client_ip=\(client) method=\(method.split(separator: ":").first ?? "")")
        metrics.login(.succeeded)
        defer { releaseLocally(ticket.keys) }
        _ = try await store.settleAttempt(ticket, outcome: .succeeded(userID: user.id), at: now, policy: policy)
        try await store.appendAudit(AuditEntry(time: now, event: .loginSucceeded, userName: user.name, clientIP: client.description, reason: method))
    }

    /// Gives back the place of an attempt that was never checked (the hash pool was full).
    public func abandoned(_ ticket: AttemptTicket, now: Int64) async {
        defer { releaseLocally(ticket.keys) }
        metrics.login(.abandoned)
        _ = try? await store.settleAttempt(ticket, outcome: .abandoned, at: now, policy: policy)
    }

    /// Records a logout.
    public func loggedOut(userName: String, client: IPAddress, now: Int64) async throws {
        logger.info("logged out user=\(userName) client_ip=\(client)")
        try await store.appendAudit(AuditEntry(time: now, event: .logout, userName: userName, clientIP: client.description))
    }

    /// Whether this client comes back when it was told to after a full hash queue (its attempt may
    /// then use the places held back for such returns).
    public func returnsAsTold(_ client: IPAddress, now: Int64) -> Bool {
        line.withLock { $0.redeem(RegulationKeys.clientKey(client, policy: policy), now: now) }
    }

    /// Remembers that this client was told to come back after `retryAfter` seconds.
    public func toldToRetry(_ client: IPAddress, after retryAfter: Int64, now: Int64) {
        line.withLock { $0.promise(RegulationKeys.clientKey(client, policy: policy), retryAfter: retryAfter, now: now) }
    }

    /// Logs and audits a refusal of a banned key, at most once per key per minute.
    private func refusedBanned(_ ban: Ban, subject: Subject, client: IPAddress, now: Int64) async throws {
        let key = "\(ban.kind.rawValue):\(ban.value)|\(RegulationKeys.clientKey(client, policy: policy))"
        guard let report = refusals.withLock({ $0.refused(key: key, now: now) }) else { return }
        let reason = report.count == 1 ? "banned" : "banned:\(report.count)"
        logFailure(reason: reason, shown: subject.shown, client: client)
        try await store.appendAudit(AuditEntry(time: now, event: .loginFailed, userName: subject.shown, clientIP: client.description, reason: reason))
    }

    private func logFailure(reason: String, shown: String, client: IPAddress) {
        logger.notice("authentication failed user=\(shown.isEmpty ? "-" : shown) client_ip=\(client) reason=\(reason)")
    }
}
