public import Logging
public import PortcullisStore
public import ServiceLifecycle

/// Forgets what the store need not keep, in the background: audit entries past `audit.retention`,
/// failures outside the regulation window, bans that ended, invitations and lingering Basic
/// credentials past their expiry.
public struct Housekeeping: Service {
    let store: any Store
    let clock: GateClock
    let auditRetention: Int64
    /// How long failures and bans are kept (`max(find_time, ban_time)`), asked at each pass: it follows reloads.
    let regulationWindow: @Sendable () -> Int64
    let logger: Logger
    /// How often it runs (and once at start).
    public var interval: Duration = .seconds(600)

    public init(store: any Store, clock: GateClock, auditRetention: Int64, regulationWindow: @escaping @Sendable () -> Int64, logger: Logger) {
        self.store = store
        self.clock = clock
        self.auditRetention = auditRetention
        self.regulationWindow = regulationWindow
        self.logger = logger
    }

    /// One pass: returns how many audit entries went.
    @discardableResult
    public func runOnce() async throws -> Int {
        let now = clock.now()
        let audit = try await store.purgeAudit(before: now - auditRetention)
        _ = try await store.purgeRegulation(before: now - regulationWindow())
        _ = try await store.purgeInvitations(before: now)
        _ = try await store.purgeBasicLingers(before: now)
        if audit > 0 { logger.info("audit retention: removed \(audit) entries older than \(auditRetention / 86_400) days") }
        return audit
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await runOnce()
            } catch {
                logger.warning("could not apply the audit retention", metadata: ["error": "\(error)"])
            }
            // Woken at once by a graceful shutdown, so the server stops without waiting for the next pass.
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
