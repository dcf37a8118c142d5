public import Hummingbird
public import Logging
public import ServiceLifecycle
public import PortcullisCore
public import PortcullisStore

/// Builds the Portcullis HTTP application from a configuration and an open vault.
///
/// ```swift
/// let server = try await GateServer.make(configuration: configuration, vault: vault, logger: logger)
/// try await server.application.runService()
/// ```
public struct GateServer {
    public let gate: Gate
    public let portal: Portal
    public let sync: SessionSync
    public let housekeeping: Housekeeping
    public let router: Router<GateContext>
    let basic: BasicSupport
    let sampler: MetricsSampler
    let configuration: Configuration

    /// Sets up the routes; sessions are read from the store as their tokens are first seen.
    /// - Parameters:
    ///   - logoDataURI: `portal.logo_file` read as a `data:` URI.
    ///   - dummyHash: the hash unknown users are checked against; made fresh when nil.
    ///   - cacheCapacity: sessions kept in memory; `session.cache_size` when nil.
    ///   - metrics: where verify answers and logins are counted.
    public static func make(
        configuration: Configuration, vault: Vault, logger: Logger, clock: GateClock = .system,
        logoDataURI: String? = nil, dummyHash: String? = nil, cacheCapacity: Int? = nil, metrics: GateMetrics = .off
    ) async throws -> GateServer {
        // Password checks get threads of their own, so a login flood cannot starve the store and the session sync.
        var vault = vault
        vault.hashPool = vault.hashPool ?? PasswordHashPool(threadCount: configuration.hashThreads == 0 ? nil : configuration.hashThreads,
                                                            capacity: configuration.hashQueue)
        let cache = SessionCache(capacity: cacheCapacity ?? configuration.sessionCacheSize)
        let writes = SessionWrites()
        let changesAfter = try await SessionSync.startingSequence(store: vault.store)
        let gate = Gate(configuration: configuration, cache: cache, writes: writes, clock: clock, store: vault.store, metrics: metrics,
                        logoDataURI: logoDataURI)
        let dummy: String
        if let dummyHash { dummy = dummyHash } else { dummy = try await Authenticator.makeDummyHash(vault: vault) }
        let authenticator = Authenticator(vault: vault, configuration: configuration, dummyHash: dummy, logger: logger)
        // A form served by one instance is posted to whichever the proxy picks: they share the CSRF key.
        let csrfKey = try await sharedKey(SharedKey.csrf, of: vault, logger: logger,
                                          meanwhile: "a form works only on the instance that served it")
        let portal = Portal(gate: gate, authenticator: authenticator, store: vault.store, logger: logger, csrfKey: csrfKey)
        let router = Router(context: GateContext.self)
        router.add(middleware: RequestIDMiddleware(resolver: gate.resolver))
        let basicGate = BasicGate(authenticator: authenticator, regulator: portal.regulator, store: vault.store)
        // Lingering Basic credentials are keyed alike on every instance, so one accepted here works on the others.
        let lingerKey = try await sharedKey(SharedKey.basicLinger, of: vault, logger: logger,
                                            meanwhile: "a Basic credential lingers only on the instance that accepted it")
        let basic = BasicSupport(settings: configuration.basic, cache: BasicLingerCache(settings: configuration.basic, key: lingerKey), gate: basicGate,
                                 outage: gate.outage, logger: logger)
        // The verify answer's page leaves the logo out: proxies such as HAProxy build it in one buffer.
        VerifyRoutes.add(to: router, gate: gate, basic: basic)
        router.add(middleware: StoreOutageMiddleware(portal: portal))
        portal.add(to: router)
        var sync = SessionSync(store: vault.store, cache: cache, writes: writes, clock: clock, logger: logger, changesAfter: changesAfter)
        sync.outage = gate.outage
        // A user, their devices or app passwords changed: that user's lingering Basic credentials are
        // checked again; nobody else's.
        sync.onUserChanged = { [cache = basic.cache] userID in cache.removeAll(ofUser: userID) }
        // `storage rotate-key` ran elsewhere: load the new key now rather than at the next login;
        // while no key at hand fits, look again every poll (the operator may fix the key file).
        // At the first poll, and after a reload that skipped the log, look once in any case.
        let keyWatch = StorageKeyWatch(vault: vault, logger: logger)
        vault.keys.onLoaded { old, new, source in
            logger.notice("loaded the new storage key", metadata: ["from": "\(old)", "to": "\(new)", "source": "\(source)"])
        }
        sync.onAllSessionsEnded = { [cache = basic.cache] in cache.removeAll() }
        sync.onReload = { [cache = basic.cache] in
            cache.removeAll()
            keyWatch.markDue()
        }
        sync.onStorageKeyChanged = { await keyWatch.reload() }
        sync.afterPoll = { [keys = vault.keys] in
            if keyWatch.takeDue() || keys.mismatch != nil { await keyWatch.reload() }
        }
        let housekeeping = Housekeeping(store: vault.store, clock: clock, auditRetention: configuration.auditRetention,
                                        regulationWindow: { [settings = gate.settings] in
                                            let regulation = settings.current.configuration.regulation
                                            return max(regulation.findTime, regulation.banTime)
                                        }, logger: logger)
        let sampler = MetricsSampler(metrics: metrics, store: vault.store, cache: cache, pool: vault.hashPool, clock: clock)
        return GateServer(gate: gate, portal: portal, sync: sync, housekeeping: housekeeping, router: router, basic: basic, sampler: sampler,
                          configuration: configuration)
    }

    /// The key the instances share under `name`, or nil when this storage key can neither read nor
    /// make it: the health check reports the key problem, and the log says what works `meanwhile`.
    private static func sharedKey(_ name: String, of vault: Vault, logger: Logger, meanwhile: String) async throws -> [UInt8]? {
        do {
            return try await vault.sharedKey(named: name)
        } catch let error as StoreError where error.code == .storageKey {
            logger.error("The shared key '\(name)' cannot be read or made with this storage key (\(error.message)); until a restart with the right key, \(meanwhile).")
            return nil
        }
    }

    /// Puts `new` in force for what a reload can change (``Configuration/reloading(from:)``):
    /// requests that start after this see it. Returns the keys that differ but need a restart.
    /// - Parameter logoDataURI: `new`'s `portal.logo_file` read as a `data:` URI.
    public func reload(_ new: Configuration, logoDataURI: String?) -> [String] {
        gate.settings.reload(new, logoDataURI: logoDataURI)
    }

    /// How long a stop may take: in-flight requests finish and pending session writes reach the
    /// store within it; past it, what is left is cancelled.
    public static let shutdownBound: Duration = .seconds(10)

    /// The Hummingbird application listening on `server.listen`, with the session sync, the
    /// housekeeping and `services` (such as ``metricsApplication(exporter:host:port:logger:onServerRunning:)``) as services.
    public func application(logger: Logger, services: [any Service] = [],
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let limits = ConnectionLimits(maxTotal: configuration.maxConnections, maxPerAddress: configuration.maxConnectionsPerAddress, resolver: gate.resolver)
        return Application(
            router: router,
            server: GateChannel.builder(gate: gate, basic: basic, limits: limits, headTimeout: .seconds(configuration.headTimeout),
                                        idleTimeout: .seconds(configuration.idleTimeout)),
            configuration: .init(address: .hostname(configuration.listenHost, port: configuration.listenPort), serverName: nil),
            // Stopped in reverse order: the HTTP server first, then the sync (which writes what
            // sessions did), then housekeeping and the rest (the metrics listener answers to the end).
            services: services + [housekeeping, sync],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }
}
