import ArgumentParser
import Foundation
import PortcullisCore
import PortcullisPostgres

/// `portcullis config ...`: check and write configuration files.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration, or print a template with every key and its default.",
        subcommands: [Check.self, Template.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the configuration (file and PORTCULLIS_* environment) without starting.",
            discussion: "Every problem is reported at once, naming the key, the bad value and what is allowed. Exits with 1 if there are any."
        )
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let found = try StorageSession.discover(options)
            let configuration = try StorageSession.loadConfiguration(options, found: found)
            if let logo = configuration.portalLogoFile { _ = try PortalLogo.dataURI(readingFile: logo) }
            print("The configuration is valid.")
            print("  file:     \(found.how)")
            print("  listen:   \(configuration.listenHost):\(configuration.listenPort)")
            if let postgres = configuration.postgres {
                // Connects once and changes nothing: an unreachable store is a problem, an empty one is not.
                let version = try await PostgresStore.schemaVersion(of: postgres, password: try StorageSession.postgresPassword(postgres))
                let state = switch version {
                case 0: "answers; empty: portcullis serve or user add creates the tables"
                case PostgresStore.schemaVersion: "answers; schema version \(version)"
                case ..<PostgresStore.schemaVersion: "answers; schema version \(version), brought to \(PostgresStore.schemaVersion) at the next start"
                default: "answers; schema version \(version) is NEWER than this Portcullis (\(PostgresStore.schemaVersion)): upgrade it"
                }
                print("  store:    \(postgres) (\(state))")
            } else {
                // A store that does not exist yet is no error: the server (or `user add`) creates it.
                let exists = FileManager.default.fileExists(atPath: configuration.sqlitePath)
                print("  store:    SQLite \(configuration.sqlitePath)\(exists ? "" : " (does not exist yet; portcullis serve or user add creates it)")")
            }
            for cookie in configuration.effectiveSessionCookies {
                print("  domain:   \(cookie.domain) (portal \(cookie.portalURL), cookie \(cookie.name)\(cookie.secure ? ", secure" : ", NOT secure"))")
            }
            let access = configuration.accessControl
            print("  access:   \(access.rules.count) rule\(access.rules.count == 1 ? "" : "s"), default policy \(access.defaultPolicy.rawValue)")
            for warning in configuration.warnings { print("warning: \(warning).") }
            for (rule, earlier) in access.shadowedRules() {
                print("warning: access_control.rules.\(rule) can never match: rule \(earlier) matches every request it would. Move it above rule \(earlier), or remove it.")
            }
            for widening in access.queryWidenings() {
                print("warning: access_control.rules.\(widening.rule) (\(access.rules[widening.rule].policy.rawValue)): the pattern '\(widening.pattern)' does not match '\(widening.path)' but matches '\(widening.path)?\(widening.query)': anyone can add a query to a URL. Anchor it to the path, e.g. '^/static/[^?]*\\.js$' rather than '\\.js$'.")
            }
            for large in access.largePatterns() {
                print("warning: access_control.rules.\(large.rule): the pattern '\(large.pattern)' compiles to \(large.steps) steps, and each byte of a URL may cost that many; a shorter pattern (fewer alternatives, smaller counts) keeps verify fast.")
            }
            if configuration.sessionCookies.isEmpty {
                print("No session.cookies are configured: only http://localhost:\(configuration.listenPort) is served (fine for a first try).")
            }
        }
    }

    struct Template: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a complete, commented configuration with the defaults.",
            discussion: "Save it and edit: portcullis config template > portcullis.yml"
        )

        func run() {
            print(ConfigurationTemplate.text, terminator: "")
        }
    }
}
