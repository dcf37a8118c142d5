import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals
import PortcullisCore
import PortcullisServer
import PortcullisStore

/// `portcullis serve`: the service proxies ask on every request, and the login portal.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gate: forward-auth endpoints for your proxy and the login portal.",
        discussion: """
            Without a configuration it listens on 127.0.0.1:9091 with the database in ./portcullis-data/ \
            and serves http://localhost:9091 (try: portcullis user add alice, then open \
            http://localhost:9091/login). For real domains, write a configuration:

              portcullis config template > portcullis.yml   # edit session.cookies
              portcullis config check --config portcullis.yml
              portcullis serve --config portcullis.yml

            Endpoints for proxies: /api/authz/forward-auth (Caddy, Traefik, HAProxy), \
            /api/authz/auth-request (nginx). Stop with Ctrl-C or SIGTERM (requests in flight finish, \
            session activity is written). SIGHUP (systemctl reload portcullis) reads the configuration \
            again: cookies, regulation, portal text, access rules and the log level change at once; \
            the log names changed keys that need a restart; an invalid file changes nothing.
            """
    )
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        // Before anything slow: a SIGHUP from now on waits for the reloader instead of ending the process.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let found = try StorageSession.discover(options)
        let configuration = try StorageSession.loadConfiguration(options, found: found)
        let logo = try configuration.portalLogoFile.map { try PortalLogo.dataURI(readingFile: $0) }
        let level = Logger.Level(rawValue: configuration.logLevel.rawValue) ?? .info
        let liveLevel = LiveLogLevel(level)
        LoggingSystem.bootstrap({ label, provider in
            switch configuration.logFormat {
            case .text: LiveLevelLogHandler(StreamLogHandler.standardOutput(label: label, metadataProvider: provider), level: liveLevel)
            case .json: LiveLevelLogHandler(JSONLogHandler(metadataProvider: provider), level: liveLevel)
            }
        }, metadataProvider: RequestID.metadataProvider)
        let logger = Logger(label: "portcullis")
        let version = Portcullis.configuration.version
        logger.notice("starting portcullis \(version) (pid \(getpid()); configuration: \(found.how); store: \(StorageSession.storeDescription(configuration)))")
        if level > .notice {
            logger.warning("log.level is \(configuration.logLevel.rawValue): failed logins (logged at notice) are not written, so fail2ban cannot see them. Use notice or info.")
        }
        for warning in configuration.warnings { logger.warning("\(warning).") }
        let openFiles = OpenFileLimit.raiseToHardLimit()
        if openFiles < configuration.maxConnections + OpenFileLimit.reserved {
            logger.warning("the open-file limit (\(openFiles)) is below server.max_connections (\(configuration.maxConnections)) plus \(OpenFileLimit.reserved): connections past it are refused by the system. Raise it (systemd: LimitNOFILE=; shell: ulimit -n) or lower server.max_connections.")
        }
        let exporter = configuration.metricsListen.map { _ in MetricsExporter() }
        let session = try await StorageSession.open(configuration: configuration, creating: true, verbose: options.verbose, how: found.how,
                                                    metrics: exporter?.factory)
        do {
            if try await session.store.users(first: 1).isEmpty {
                let config = found.path.map { $0 == ConfigurationDiscovery.localPath || $0 == ConfigurationDiscovery.systemPath ? "" : " --config \($0)" } ?? ""
                printError("There are no users yet. Add one (it asks for a password, then shows a QR code to scan):\n  portcullis user add alice\(config) && portcullis user otp add alice\(config)")
            }
            let metrics = exporter.map { GateMetrics(factory: $0.factory, version: version) } ?? .off
            let server = try await GateServer.make(configuration: session.configuration, vault: session.vault, logger: logger, logoDataURI: logo,
                                                   metrics: metrics)
            let portal = session.configuration.effectiveSessionCookies.map(\.portalURL).joined(separator: ", ")
            var services: [any Service] = []
            if let exporter, let address = configuration.metricsListen {
                services.append(server.metricsApplication(exporter: exporter, host: address.host, port: address.port, logger: logger) { port in
                    logger.info("metrics at http://\(ListenAddress(host: address.host, port: port))/metrics")
                })
            }
            let reloadable = server.gate.settings
            services.append(HangupReloader(hangups) { [options] in
                Self.reload(reloadable, options: options, found: found, level: liveLevel, logger: logger)
            })
            let app = server.application(logger: logger, services: services) { port in
                logger.info("listening on \(configuration.listenHost):\(port); login portal at \(portal)")
            }
            // SIGTERM: stop accepting, finish the requests in flight, write what sessions did; past
            // the bound, whatever is left is cancelled.
            var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            group.maximumGracefulShutdownDuration = GateServer.shutdownBound
            try await ServiceGroup(configuration: group).run()
            logger.notice("stopped")
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EACCES || error.errnoCode == EADDRNOTAVAIL {
            await session.close()
            let address = "\(ListenAddress(host: configuration.listenHost, port: configuration.listenPort))"
            let why = error.errnoCode == EADDRINUSE ? "another program (perhaps another portcullis serve) listens there"
                : error.errnoCode == EACCES ? "ports below 1024 need privileges" : "no interface of this machine has that address"
            if let metrics = configuration.metricsListen {
                throw CLIError("Cannot listen on \(address) (server.listen) or \(metrics) (metrics.listen): \(why). Stop the other program, or choose another address with server.listen or metrics.listen.")
            }
            throw CLIError("Cannot listen on \(address): \(why). Stop the other program, or choose another address with server.listen (PORTCULLIS_SERVER_LISTEN=127.0.0.1:9092).")
        } catch {
            logger.error("stopped: \(error)")
            await session.close()
            throw error
        }
        await session.close()
    }

    /// `SIGHUP`: reads the configuration again from where it was found at start. A configuration
    /// that fails validation changes nothing; keys that need a restart are named.
    static func reload(_ settings: LiveSettings, options: GlobalOptions, found: ConfigurationDiscovery, level: LiveLogLevel, logger: Logger) {
        do {
            let new = try StorageSession.loadConfiguration(options, found: found)
            let logo = try new.portalLogoFile.map { try PortalLogo.dataURI(readingFile: $0) }
            let needRestart = settings.reload(new, logoDataURI: logo)
            let portals = settings.current.configuration.effectiveSessionCookies.map(\.portalURL).joined(separator: ", ")
            // Written before the new level applies, so a reload to `warning` still says it happened.
            logger.notice("reloaded the configuration (\(found.how)); login portal at \(portals)")
            level.level = Logger.Level(rawValue: new.logLevel.rawValue) ?? .info
            for warning in new.warnings { logger.warning("\(warning).") }
            if !needRestart.isEmpty {
                logger.warning("changed in the configuration, but kept as they were until a restart: \(needRestart.joined(separator: ", "))")
            }
            if level.level > .notice {
                logger.warning("log.level is \(new.logLevel.rawValue): failed logins (logged at notice) are not written, so fail2ban cannot see them.")
            }
        } catch {
            logger.error("the configuration was not reloaded; the server goes on with the one it had. \(error)")
        }
    }
}
