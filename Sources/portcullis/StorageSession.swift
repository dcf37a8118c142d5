import Foundation
#if canImport(Glibc)
import Glibc
#endif
import CoreMetrics
import PortcullisCore
import PortcullisPostgres
import PortcullisStore

/// The configuration, the open store and the vault, as each command needs them.
struct StorageSession {
    let configuration: Configuration
    /// The configured store: SQLite (the default) or PostgreSQL (`storage.postgres`).
    let store: any Store
    let vault: Vault
    /// Held (shared) while a SQLite store is open, so that a restore never replaces it under a
    /// command or a server; nil for PostgreSQL.
    let lock: StoreLock?

    /// Where the configuration of `options` is (``ConfigurationDiscovery``).
    static func discover(_ options: GlobalOptions) throws -> ConfigurationDiscovery {
        try ConfigurationDiscovery.locate(explicit: options.config, environment: ProcessInfo.processInfo.environment,
                                          fileExists: { FileManager.default.fileExists(atPath: $0) })
    }

    /// Loads the configuration ``discover(_:)`` finds, and the environment.
    static func loadConfiguration(_ options: GlobalOptions) throws -> Configuration {
        try loadConfiguration(options, found: try discover(options))
    }

    static func loadConfiguration(_ options: GlobalOptions, found: ConfigurationDiscovery) throws -> Configuration {
        var yaml: String?
        if let path = found.path {
            do {
                yaml = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw CLIError("Cannot read the configuration file \(path) (from \(found.how)): \(error.localizedDescription)")
            }
        }
        if options.verbose { printError("configuration: \(found.how)") }
        return try ConfigurationLoader.load(
            yaml: yaml, source: found.path ?? "the configuration",
            environment: ProcessInfo.processInfo.environment,
            readFile: { try String(contentsOfFile: $0, encoding: .utf8) },
            baseDirectory: found.baseDirectory
        )
    }

    /// Opens the store of the configuration `options` finds. Only commands that add users, import
    /// or serve pass `creating`: the others (list, show, export, remove, `--dry-run`) never create a
    /// database or a key, and say where they looked when there is none.
    static func open(_ options: GlobalOptions, creating: Bool = false) async throws -> StorageSession {
        let found = try discover(options)
        let configuration = try loadConfiguration(options, found: found)
        return try await open(configuration: configuration, creating: creating, verbose: options.verbose, how: found.how)
    }

    /// The message for a command that needs a store where there is none.
    static func missingStore(_ configuration: Configuration, how: String) -> String {
        "There is no Portcullis store at \(configuration.sqlitePath) (configuration: \(how)); nothing was created.\n"
            + "If your data is elsewhere, point --config (or PORTCULLIS_CONFIG) at its configuration file. To start a new store, add a user: portcullis user add NAME"
    }

    /// Opens the store of a configuration already loaded; with `creating`, makes the data folder
    /// (mode 0700), the database and, for a new store, a storage key when they do not exist.
    /// `metrics`: where the store's operation timers are made (none when nil).
    static func open(configuration: Configuration, creating: Bool = true, verbose: Bool = false, how: String = "the configuration",
                     metrics: (any MetricsFactory)? = nil) async throws -> StorageSession {
        umask(0o077)  // the database, its WAL and every file we write are the owner's alone
        if let postgres = configuration.postgres {
            if creating { try KeyFile.makePrivateDirectory(configuration.dataDirectory) }
            let store = try await openStore(configuration, creating: creating, metrics: metrics)
            if verbose { printError("store: \(postgres)") }
            return try await session(configuration: configuration, store: store, lock: nil, creating: creating)
        }
        let exists = FileManager.default.fileExists(atPath: configuration.sqlitePath)
        guard exists || creating else { throw CLIError(missingStore(configuration, how: how)) }
        try KeyFile.makePrivateDirectory(configuration.dataDirectory)
        guard let lock = try StoreLock.acquire(configuration.sqlitePath, exclusive: false) else {
            throw CLIError("A restore of \(configuration.sqlitePath) is in progress; try again when it has finished.")
        }
        let store = try await SQLiteStore.open(path: configuration.sqlitePath, metrics: metrics ?? NOOPMetricsHandler.instance)
        if !exists {
            printError("Created a new store at \(configuration.sqlitePath) (configuration: \(how)).")
        } else if verbose {
            printError("store: \(configuration.sqlitePath)")
        }
        return try await session(configuration: configuration, store: store, lock: lock, creating: creating)
    }

    /// The session of a store just opened: its key loaded (or, with `creating`, made) and checked.
    private static func session(configuration: Configuration, store: any Store, lock: StoreLock?, creating: Bool) async throws -> StorageSession {
        do {
            let (key, source) = try await loadKey(configuration, store: store, creating: creating)
            let vault = try await Vault.open(store: store, key: key, keySource: source)
            return StorageSession(configuration: configuration, store: store, vault: vault, lock: lock)
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// Opens the store of `configuration` alone, without its key: a PostgreSQL database, or the
    /// SQLite file (made, with its folder, when `creating`).
    static func openStore(_ configuration: Configuration, creating: Bool, metrics: (any MetricsFactory)? = nil) async throws -> any Store {
        if let postgres = configuration.postgres {
            return try await PostgresStore.open(postgres, password: try postgresPassword(postgres), metrics: metrics ?? NOOPMetricsHandler.instance)
        }
        guard creating || FileManager.default.fileExists(atPath: configuration.sqlitePath) else {
            throw CLIError("There is no SQLite store at \(configuration.sqlitePath).")
        }
        try KeyFile.makePrivateDirectory(configuration.dataDirectory)
        return try await SQLiteStore.open(path: configuration.sqlitePath, metrics: metrics ?? NOOPMetricsHandler.instance)
    }

    /// The PostgreSQL role's password: given (environment), read from `password_file`, or none.
    static func postgresPassword(_ settings: PostgresSettings) throws -> String? {
        guard let file = settings.passwordFile else { return settings.password }
        do {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            return String(text.trimmingCharacters(in: .newlines))
        } catch {
            throw CLIError("storage.postgres.password_file \(file) cannot be read: \(error.localizedDescription)")
        }
    }

    /// The path the rotation lock is named after: the SQLite file, or (PostgreSQL) the key file.
    static func rotationLockBase(_ configuration: Configuration) -> String {
        configuration.postgres == nil ? configuration.sqlitePath : configuration.resolvedKeyFile
    }

    /// Where the configured store is, for messages: the SQLite file, or the PostgreSQL database.
    static func storeDescription(_ configuration: Configuration) -> String {
        configuration.postgres?.description ?? configuration.sqlitePath
    }

    /// The storage key from the environment or the key file; with `creating`, a new key file for a new store.
    static func loadKey(_ configuration: Configuration, store: any Store, creating: Bool) async throws -> (StorageKey, StorageKeySource) {
        let variable = ConfigurationLoader.environmentName(for: "storage.encryption_key")
        if let text = configuration.encryptionKey {
            return (try parseKey(text, source: "environment variable \(variable) (or \(variable)_FILE)"), .environment(variable))
        }
        let path = configuration.resolvedKeyFile
        let pending = path + ".new"
        if KeyFile.exists(path) {
            let key = try parseKey(try KeyFile.read(path), source: path)
            // A rotation running now owns its .new file: only one that stopped half-way is finished here.
            if let rotation = try StoreLock.acquireRotation(rotationLockBase(configuration)) {
                try await finishInterruptedRotation(current: key, keyFile: path, pendingFile: pending, store: store)
                withExtendedLifetime(rotation) {}
                return (try parseKey(try KeyFile.read(path), source: path), .file(path))
            }
            // A rotation runs; between its commit and its rename the store already uses the .new key.
            if KeyFile.exists(pending), try await Vault.keyMatches(key, store: store) == false,
               let next = try? parseKey(try KeyFile.read(pending), source: pending), try await Vault.keyMatches(next, store: store) == true {
                return (next, .file(path))
            }
            return (key, .file(path))
        }
        guard try await store.storageKeyCheck() == nil else {
            throw StoreError(.storageKey, "The store \(storeDescription(configuration)) holds encrypted OTP secrets, but the storage key file \(path) does not exist. Restore it from your backup, point storage.encryption_key_file at it, or set \(variable).")
        }
        guard creating else {
            throw StoreError(.storageKey, "The storage key file \(path) of the store \(storeDescription(configuration)) does not exist, and this command creates none. Add a user (portcullis user add NAME) or start the server to create it.")
        }
        var random = SystemRandomNumberGenerator()
        let key = StorageKey.generate(using: &random)
        try KeyFile.createExclusive(path, text: key.fileText)
        printError("Created a new storage key in \(path) (mode 0600). Back it up: without it the OTP secrets cannot be read.")
        return (key, .file(path))
    }

    /// Completes or cleans up a `storage rotate-key` that stopped half-way (a `.new` key file left behind).
    static func finishInterruptedRotation(current: StorageKey, keyFile: String, pendingFile: String, store: any Store) async throws {
        guard KeyFile.exists(pendingFile) else { return }
        let pending = try parseKey(try KeyFile.read(pendingFile), source: pendingFile)
        if try await Vault.keyMatches(current, store: store) == false, try await Vault.keyMatches(pending, store: store) == true {
            try KeyFile.replace(keyFile, with: pendingFile)
            printError("Finished an interrupted key rotation: \(keyFile) now holds the new key (\(pending.fingerprint)).")
        } else if try await Vault.keyMatches(current, store: store) != false {
            KeyFile.remove(pendingFile)
            printError("Removed \(pendingFile), left by a key rotation that did not complete; the data still uses key \(current.fingerprint).")
        }
    }

    static func parseKey(_ text: String, source: String) throws -> StorageKey {
        do {
            return try StorageKey(text: text, source: source)
        } catch let error as CoreError {
            throw StoreError(.storageKey, error.message)
        }
    }

    func close() async {
        try? await store.close()
    }

    /// Records an administrator's change in the audit trail: what, about whom, the detail, and the
    /// account that ran the command.
    func audit(_ event: AuditEntry.Event, user: String, _ detail: String) async throws {
        try await store.appendAudit(AuditEntry(time: currentUnixTime(), event: event, userName: user, clientIP: "",
                                               reason: "\(detail) (by \(Self.operatorName))"))
    }

    /// The local account running this command.
    static var operatorName: String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "uid \(geteuid())"
    }

    /// Runs `body` with an open session and closes it afterwards, also on error. Only with
    /// `creating` may the store (and its key) be created.
    static func with<T>(_ options: GlobalOptions, creating: Bool = false, _ body: (StorageSession) async throws -> T) async throws -> T {
        let session = try await open(options, creating: creating)
        do {
            let result = try await body(session)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }
}

/// An error of the command line itself (bad arguments, unreadable files), with what to do.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The current time in whole seconds since 1970.
func currentUnixTime() -> Int64 {
    Int64(Date().timeIntervalSince1970)
}
