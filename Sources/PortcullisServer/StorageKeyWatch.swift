import Logging
import PortcullisStore
import Synchronization

/// Loads the storage key again when the store was re-encrypted under a new one, and says so in the
/// log: a notice when the new key was found, an error (once per distinct reason) when it was not.
final class StorageKeyWatch: Sendable {
    let vault: Vault
    let logger: Logger
    private let lastFailure = Mutex<String?>(nil)
    /// Whether a look is due without a change seen (at start, after a full reload).
    private let due = Mutex(true)

    init(vault: Vault, logger: Logger) {
        self.vault = vault
        self.logger = logger
    }

    func markDue() {
        due.withLock { $0 = true }
    }

    /// Whether a look was due; it no longer is.
    func takeDue() -> Bool {
        due.withLock { due in
            defer { due = false }
            return due
        }
    }

    func reload() async {
        do {
            switch try await vault.reloadKey() {
            case .unchanged:
                lastFailure.withLock { $0 = nil }
            case .loaded:
                // Logged by the key ring's observer (GateServer), as a key a login loaded is.
                lastFailure.withLock { $0 = nil }
            case .failed(let reason):
                let isNew = lastFailure.withLock { last in
                    defer { last = reason }
                    return last != reason
                }
                if isNew { logger.error("the storage key does not open the store's secrets; logins with codes fail", metadata: ["reason": "\(reason)"]) }
            }
        } catch {
            logger.warning("could not read the store's storage key check", metadata: ["error": "\(error)"])
        }
    }
}
