public import PortcullisCore
import Synchronization

/// The storage key a ``Vault`` seals and opens secrets with. A running server replaces it when
/// `portcullis storage rotate-key` re-encrypted the store under a new key (``Vault/reloadKey()``);
/// everything else reads it.
public final class StorageKeyRing: Sendable {
    private struct State {
        var box: SecretBox
        var mismatch: String?
        var damage: String?
    }

    private let state: Mutex<State>
    private let loadedObserver = Mutex<(@Sendable (_ old: String, _ new: String, _ source: String) -> Void)?>(nil)

    init(box: SecretBox) {
        state = Mutex(State(box: box))
    }

    /// Called whenever ``Vault/reloadKey()`` loads a new key, whoever asked (the change log's
    /// watcher, or a login that met a secret sealed under it): with the old and new fingerprints and
    /// the file the key came from. A server logs it.
    public func onLoaded(_ observer: @escaping @Sendable (_ old: String, _ new: String, _ source: String) -> Void) {
        loadedObserver.withLock { $0 = observer }
    }

    func loaded(old: String, new: String, source: String) {
        loadedObserver.withLock { $0 }?(old, new, source)
    }

    /// The box of the current key.
    public var box: SecretBox {
        state.withLock { $0.box }
    }

    /// Why secrets cannot be decrypted, while they cannot; nil while all is well. Health checks report it.
    public var problem: String? {
        state.withLock { $0.mismatch ?? $0.damage }
    }

    /// Why the key held does not open the store's secrets (they were re-encrypted under a key
    /// that was not found), until ``Vault/reloadKey()`` finds one that does.
    public var mismatch: String? {
        state.withLock { $0.mismatch }
    }

    func replace(with box: SecretBox) {
        state.withLock { $0 = State(box: box) }
    }

    /// Replaces the key only while the one held is still `fingerprint`; whether it did.
    func replace(with box: SecretBox, ifHolding fingerprint: String) -> Bool {
        state.withLock { state in
            guard state.box.key.fingerprint == fingerprint else { return false }
            state = State(box: box)
            return true
        }
    }

    func reportMismatch(_ problem: String?) {
        state.withLock { $0.mismatch = problem }
    }

    /// A secret that does not open although the key is the store's (damaged or moved data), until
    /// the next secret opens.
    func reportDamage(_ problem: String?) {
        state.withLock { $0.damage = problem }
    }
}

/// What ``Vault/reloadKey()`` did.
public enum StorageKeyReload: Sendable, Equatable {
    /// The key held opens the store's secrets (or the store has none yet): nothing to do.
    case unchanged
    /// The store was re-encrypted under another key, which was read from `source`.
    case loaded(oldFingerprint: String, newFingerprint: String, source: String)
    /// The store was re-encrypted under a key this process cannot find; the message says what to do.
    case failed(String)
}
