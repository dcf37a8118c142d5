import ArgumentParser
import PortcullisCore
import PortcullisStore

/// `portcullis storage ...`: the database and its encryption key.
struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Maintain the database and its storage key.",
        subcommands: [RotateKey.self]
    )
}

struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Re-encrypt every OTP secret under a new storage key, all or nothing.",
        discussion: """
            With a key file, the new key replaces it (the new key is written beside it first, then the
            secrets are re-encrypted in one transaction, then the file is swapped; an interrupted run is
            completed or undone the next time portcullis starts). With PORTCULLIS_STORAGE_ENCRYPTION_KEY,
            give --new-key-file and put the new key into the environment afterwards.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: ArgumentHelp("Write the new key to this new file instead of replacing the key file.", valueName: "file"))
    var newKeyFile: String?

    func run() async throws {
        try await StorageSession.with(options) { session in
            let oldFingerprint = session.vault.box.key.fingerprint
            var random = SystemRandomNumberGenerator()
            let newKey = StorageKey.generate(using: &random)
            switch (session.vault.keySource, newKeyFile) {
            case (.environment(let variable), nil):
                throw CLIError("The storage key comes from \(variable); give --new-key-file FILE for the new key, then set \(variable) to it.")
            case (_, let target?):
                try KeyFile.createExclusive(target, text: newKey.fileText)
                let count = try await rotateOrRemove(target, session: session, newKey: newKey)
                print("Re-encrypted \(count) secrets: key \(oldFingerprint) → \(newKey.fingerprint). The new key is in \(target); use it from now on.")
            case (.file(let path), nil):
                let pending = path + ".new"
                try KeyFile.createExclusive(pending, text: newKey.fileText)
                let count = try await rotateOrRemove(pending, session: session, newKey: newKey)
                try KeyFile.replace(path, with: pending)
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
