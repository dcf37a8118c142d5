/// What `SIGHUP` may change in a running server, and what only a restart changes.
extension Configuration {
    /// The configuration a running server continues with after reading `new`: the keys a reload
    /// applies (cookies and session lifetimes, regulation, the portal's title and logo, access
    /// control, the log level) taken from `new`, every other key kept as it is now; and the keys
    /// that differ in `new` but need a restart to take effect.
    ///
    /// Keys only commands read (`totp.issuer`, `totp.algorithm`, `totp.digits`, `totp.period`,
    /// `auth.password_min_length`) are neither: the next command uses them.
    public func reloading(from new: Configuration) -> (configuration: Configuration, needRestart: [String]) {
        var next = self
        next.sessionCookies = new.sessionCookies
        next.sessionInactivity = new.sessionInactivity
        next.sessionExpiration = new.sessionExpiration
        next.sessionRememberMe = new.sessionRememberMe
        next.sessionIPBinding = new.sessionIPBinding
        next.regulation = new.regulation
        next.portalTitle = new.portalTitle
        next.portalLogoFile = new.portalLogoFile
        next.accessDefaultPolicy = new.accessDefaultPolicy
        next.accessRules = new.accessRules
        next.logLevel = new.logLevel
        next.totpIssuer = new.totpIssuer
        next.totpAlgorithm = new.totpAlgorithm
        next.totpDigits = new.totpDigits
        next.totpPeriod = new.totpPeriod
        next.passwordMinLength = new.passwordMinLength
        next.warnings = new.warnings

        let fixed: [(key: String, same: Bool)] = [
            ("server.listen", listenHost == new.listenHost && listenPort == new.listenPort),
            ("server.trusted_proxies", trustedProxies == new.trustedProxies),
            ("server.hash_threads", hashThreads == new.hashThreads),
            ("server.hash_queue", hashQueue == new.hashQueue),
            ("server.max_connections", maxConnections == new.maxConnections),
            ("server.max_connections_per_address", maxConnectionsPerAddress == new.maxConnectionsPerAddress),
            ("server.head_timeout", headTimeout == new.headTimeout),
            ("server.idle_timeout", idleTimeout == new.idleTimeout),
            ("storage.sqlite.path", sqlitePath == new.sqlitePath),
            ("storage.postgres", postgres == new.postgres),
            ("storage.encryption_key_file", encryptionKeyFile == new.encryptionKeyFile),
            ("storage.encryption_key", encryptionKey == new.encryptionKey),
            ("storage.outage_grace", storageOutageGrace == new.storageOutageGrace),
            ("session.cache_size", sessionCacheSize == new.sessionCacheSize),
            ("auth.mode", authMode == new.authMode),
            ("basic", basic == new.basic),
            ("audit.retention", auditRetention == new.auditRetention),
            ("totp.skew", totpSkew == new.totpSkew),
            ("hotp.look_ahead", hotpLookAhead == new.hotpLookAhead),
            ("metrics.listen", metricsListen == new.metricsListen),
            ("log.format", logFormat == new.logFormat),
        ]
        return (next, fixed.filter { !$0.same }.map(\.key))
    }
}
