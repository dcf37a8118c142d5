import ArgumentParser
import Foundation
import PortcullisCore
import PortcullisStore

/// `portcullis storage ...`: the database and its encryption key.
struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Maintain the database and its storage key.",
        subcommands: [Backup.self, Restore.self, RotateKey.self, Copy.self]
    )
}

struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Re-encrypt every OTP secret under a new storage key, all or nothing.",
        discussion: """
            With a key file, the new key replaces it (the new key is written beside it first, then the \
            secrets are re-encrypted in one transaction, then the file is swapped; an interrupted run is \
            completed or undone the next time portcullis starts). With PORTCULLIS_STORAGE_ENCRYPTION_KEY, \
            give --new-key-file and put the new key into the environment afterwards.

            Servers running on the store keep working: they load the new key from the key file within \
            a second (with --new-key-file, once the new key is in the file they read). A server whose \
            key comes from the environment cannot: its logins with codes fail and its health check \
            answers 503 until it is restarted with the new key.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: ArgumentHelp("Write the new key to this new file instead of replacing the key file.", valueName: "file"))
    var newKeyFile: String?

    func run() async throws {
        try await StorageSession.with(options) { session in
            guard let rotation = try StoreLock.acquireRotation(StorageSession.rotationLockBase(session.configuration)) else {
                throw CLIError("Another storage rotate-key is running on \(StorageSession.storeDescription(session.configuration)); wait for it to finish.")
            }
            defer { withExtendedLifetime(rotation) {} }
            let oldFingerprint = session.vault.box.key.fingerprint
            var random = SystemRandomNumberGenerator()
            let newKey = StorageKey.generate(using: &random)
            switch (session.vault.keySource, newKeyFile) {
            case (.environment(let variable), nil):
                throw CLIError("The storage key comes from \(variable); give --new-key-file FILE for the new key, then set \(variable) to it.")
            case (_, let target?):
                try KeyFile.createExclusive(target, text: newKey.fileText)
                let count = try await rotateOrRemove(target, session: session, newKey: newKey)
                try await session.audit(.keyRotated, user: "", "storage rotate-key, key \(oldFingerprint) → \(newKey.fingerprint), \(count) secrets")
                print("Re-encrypted \(count) secrets: key \(oldFingerprint) → \(newKey.fingerprint). The new key is in \(target); use it from now on.")
            case (.file(let path), nil):
                let pending = path + ".new"
                try KeyFile.createExclusive(pending, text: newKey.fileText)
                let count = try await rotateOrRemove(pending, session: session, newKey: newKey)
                try KeyFile.replace(path, with: pending)
                try await session.audit(.keyRotated, user: "", "storage rotate-key, key \(oldFingerprint) → \(newKey.fingerprint), \(count) secrets")
                print("Re-encrypted \(count) secrets: key \(oldFingerprint) → \(newKey.fingerprint), now in \(path). Back up the new key file.")
            }
        }
    }

    private func rotateOrRemove(_ keyFile: String, session: StorageSession, newKey: StorageKey) async throws -> Int {
        do {
            return try await session.vault.rotate(to: newKey)
        } catch {
            KeyFile.remove(keyFile)
            throw error
        }
    }
}

/// `portcullis storage backup FILE`: an online, consistent copy of the store.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the store to a new file while servers keep running; the storage key is not in it.",
        discussion: """
            portcullis storage backup /var/backups/portcullis-$(date +%F).sqlite3
            Keep the storage key (storage.encryption_key_file) apart from the backups: it decrypts the OTP secrets.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("The new file to write (never overwritten).", valueName: "file")) var file: String

    func run() async throws {
        guard !FileManager.default.fileExists(atPath: file) else {
            throw CLIError("\(file) exists already; a backup never overwrites a file. Choose a new name.")
        }
        let folder = (file as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) && isFolder.boolValue) else {
            throw CLIError("The folder \(folder) does not exist; create it first.")
        }
        try await StorageSession.with(options) { session in
            guard let sqlite = session.store as? SQLiteStore else {
                throw CLIError("storage backup copies a SQLite store; this configuration uses \(StorageSession.storeDescription(session.configuration)). Back it up with PostgreSQL's own tools (pg_dump), and keep the storage key apart from the dump.")
            }
            do {
                try await sqlite.backup(to: file)
                try Restore.synchronize(file)
            } catch {
                // A partial file would block the next attempt under the same name.
                Restore.remove(file, FileManager.default)
                throw error
            }
            guard let contents = try await SQLiteStore.contents(ofFile: file) else {
                throw CLIError("The backup \(file) was written but cannot be read back; check the disk and try again.")
            }
            print("Backed up \(contents) to \(file).")
            let key = switch session.vault.keySource {
            case .file(let path): "a copy of \(path)"
            case .environment(let variable): "the key in \(variable)"
            }
            print("The storage key is not in the backup: keep \(key) (fingerprint \(session.vault.box.key.fingerprint)) apart from it.")
        }
    }
}

/// `portcullis storage restore FILE`: replaces the store with a backup, keeping the one it replaces.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the store with a backup made by 'storage backup'; stop the servers first. The replaced store is kept.",
        discussion: """
            The backup must be a Portcullis database whose OTP secrets are encrypted with the storage key \
            the configuration names; put that key in place first when restoring onto a new machine.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("The backup file.", valueName: "file")) var file: String

    func run() async throws {
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: file) else { throw CLIError("The backup \(file) does not exist.") }
        let configuration = try StorageSession.loadConfiguration(options)
        if let postgres = configuration.postgres {
            throw CLIError("storage restore replaces a SQLite store; this configuration uses the \(postgres). Restore it with PostgreSQL's own tools (pg_restore).")
        }
        let target = configuration.sqlitePath
        guard let contents = try await SQLiteStore.contents(ofFile: file) else {
            throw CLIError("\(file) is not a Portcullis backup (no Portcullis tables in it). Give a file made by portcullis storage backup.")
        }
        let (key, keySource) = try Self.configuredKey(configuration)
        umask(0o077)
        try KeyFile.makePrivateDirectory(configuration.dataDirectory)
        guard let lock = try StoreLock.acquire(target, exclusive: true) else {
            throw CLIError("A portcullis server or command is using \(target); stop every server that shares it, then restore.")
        }
        // Checked on a private copy beside the store: the backup itself is never changed.
        let staging = target + ".restoring"
        Self.remove(staging, fileManager)
        do {
            try fileManager.copyItem(atPath: file, toPath: staging)
            guard chmod(staging, 0o600) == 0 else { throw CLIError("Cannot make \(staging) private: \(String(cString: strerror(errno))).") }
            let store = try await SQLiteStore.open(path: staging)
            do {
                guard try await Vault.keyMatches(key, store: store) != false else {
                    throw CLIError("The OTP secrets in \(file) are not encrypted with this store's storage key (\(key.fingerprint), from \(keySource)). Restore it with the key it was made with.")
                }
                try await store.checkpoint()
                try await store.close()
            } catch {
                try? await store.close()
                throw error
            }
            try Self.synchronize(staging)
        } catch {
            Self.remove(staging, fileManager)
            throw error
        }
        // The store it replaces stays where it was until the new one takes its name in one rename,
        // so there is never a moment without a store; a hard link keeps the old one aside.
        var kept: String?
        if fileManager.fileExists(atPath: target) {
            let old = try await SQLiteStore.open(path: target)
            try await old.checkpoint()
            try await old.close()
            var aside = target + ".before-restore-\(currentUnixTime())"
            var suffix = 2
            while fileManager.fileExists(atPath: aside) {
                aside = target + ".before-restore-\(currentUnixTime())-\(suffix)"
                suffix += 1
            }
            guard link(target, aside) == 0 else { throw CLIError("Cannot keep the current store as \(aside): \(String(cString: strerror(errno))). Nothing was changed.") }
            kept = aside
        }
        guard rename(staging, target) == 0 else {
            throw CLIError("Cannot move the restored store into place: \(String(cString: strerror(errno))). Nothing was changed; \(staging) holds the checked copy.")
        }
        for suffix in ["-wal", "-shm"] { try? fileManager.removeItem(atPath: target + suffix) }
        try Self.synchronize(configuration.dataDirectory)
        withExtendedLifetime(lock) {}
        print("Restored \(contents) from \(file) into \(target).")
        if let kept { print("The store it replaced is kept as \(kept).") }
    }

    /// The storage key the configuration names, read without finishing or undoing anything.
    static func configuredKey(_ configuration: Configuration) throws -> (StorageKey, String) {
        let variable = ConfigurationLoader.environmentName(for: "storage.encryption_key")
        if let text = configuration.encryptionKey { return (try StorageSession.parseKey(text, source: variable), variable) }
        let path = configuration.resolvedKeyFile
        guard !KeyFile.exists(path + ".new") else {
            throw CLIError("A key rotation of this store was interrupted (\(path).new exists). Run any portcullis command on the store (portcullis user list) to finish it, then restore.")
        }
        guard KeyFile.exists(path) else {
            throw CLIError("The storage key file \(path) does not exist. A backup does not hold the storage key: put the key it was made with there (or set \(variable)), then restore.")
        }
        return (try StorageSession.parseKey(try KeyFile.read(path), source: path), path)
    }

    /// Writes the file's (or folder's) data to the disk.
    static func synchronize(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CLIError("Cannot open \(path) to write it to disk: \(String(cString: strerror(errno))).") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw CLIError("Cannot write \(path) to disk: \(String(cString: strerror(errno))).") }
    }

    static func remove(_ path: String, _ fileManager: FileManager) {
        for suffix in ["", "-wal", "-shm"] { try? fileManager.removeItem(atPath: path + suffix) }
    }
}

/// `portcullis storage copy --from A.yml --to B.yml`: everything from one configured store into a
/// new one (SQLite to PostgreSQL, or back), all or nothing, counts checked.
struct Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy everything from one configured store into a new, empty one (SQLite to PostgreSQL or back).",
        discussion: """
            Users, devices with their state, sessions, app passwords, recovery codes, invitations, bans, \
            lockouts and the audit trail are read at one instant and written in one transaction: all or \
            nothing, and the counts are checked before it commits. Secrets are copied as they are, \
            encrypted: both configurations must use the same storage key (the key file, or \
            PORTCULLIS_STORAGE_ENCRYPTION_KEY). Both files are read with the PORTCULLIS_* environment.

            Stop the servers first: what they change after the copy has read is not copied. Then point \
            the servers' configuration at the new store and start them.

              portcullis storage copy --from /etc/portcullis/portcullis.yml --to /etc/portcullis/postgres.yml
            """
    )
    @Option(help: ArgumentHelp("The configuration of the store to copy.", valueName: "file")) var from: String
    @Option(help: ArgumentHelp("The configuration of the new store (its database must be empty).", valueName: "file")) var to: String

    func run() async throws {
        let sourceOptions = try GlobalOptions.parse(["--config", from]), targetOptions = try GlobalOptions.parse(["--config", to])
        let target = try StorageSession.loadConfiguration(targetOptions)
        try await StorageSession.with(sourceOptions) { source in
            let sourcePlace = StorageSession.storeDescription(source.configuration), targetPlace = StorageSession.storeDescription(target)
            guard sourcePlace != targetPlace else { throw CLIError("--from and --to name the same store (\(sourcePlace)).") }
            // The secrets stay sealed: the new store is only readable with the key they are sealed under.
            let key = source.vault.box.key
            let targetKey = try Self.storageKey(of: target)
            guard targetKey.fingerprint == key.fingerprint else {
                throw CLIError("The storage key of \(to) (\(targetKey.fingerprint)) is not the one the store \(sourcePlace) is encrypted with (\(key.fingerprint)). Give both configurations the same key.")
            }
            let snapshot = try await source.store.snapshot()
            let store = try await StorageSession.openStore(target, creating: true)
            do {
                try await store.load(snapshot)
                let counts = try await store.counts()
                try? await store.close()
                print("Copied \(counts) from \(sourcePlace) to \(targetPlace); the counts match.")
                print("Point the servers' configuration at \(targetPlace) (as in \(to)) and start them.")
            } catch {
                try? await store.close()
                throw error
            }
        }
    }

    /// The storage key a configuration names (the environment, or its key file), which must exist.
    static func storageKey(of configuration: Configuration) throws -> StorageKey {
        if let text = configuration.encryptionKey {
            return try StorageSession.parseKey(text, source: "PORTCULLIS_STORAGE_ENCRYPTION_KEY")
        }
        let path = configuration.resolvedKeyFile
        guard KeyFile.exists(path) else {
            throw CLIError("The storage key file \(path) of the new store does not exist. Copy the source's key file there (mode 0600), or set PORTCULLIS_STORAGE_ENCRYPTION_KEY: the secrets are copied encrypted.")
        }
        return try StorageSession.parseKey(try KeyFile.read(path), source: path)
    }
}
