import PortcullisCore

/// Keys every instance on one store must share (the CSRF key of the login forms): made by the
/// first instance that needs one, kept sealed under the storage key, read by the others.
extension Vault {
    /// The 32-byte key named `name`, made and stored the first time any instance asks for it. Of
    /// instances asking at once, all get the one the store kept.
    /// - Throws: ``StoreError/Code/storageKey`` when the stored key does not open with the storage key.
    public func sharedKey(named name: String) async throws -> [UInt8] {
        let context = SharedKey.context(name)
        if let sealed = try await store.sealedSharedKey(named: name) { return try await openSharedKey(sealed, named: name) }
        var random = SystemRandomNumberGenerator()
        let key = SecretGenerator.makeSecret(byteCount: 32, using: &random)
        try await store.setSealedSharedKeyIfAbsent(named: name, box.seal(key, context: context, using: &random))
        // Another instance may have stored its key first: use whichever the store kept.
        guard let stored = try await store.sealedSharedKey(named: name) else { return key }
        return try await openSharedKey(stored, named: name)
    }

    private func openSharedKey(_ sealed: [UInt8], named name: String) async throws -> [UInt8] {
        if let key = try? box.open(sealed, context: SharedKey.context(name)) { return key }
        // Sealed under a key rotated in since this process loaded its own.
        if case .failed(let problem) = try await reloadKey() { throw StoreError(.storageKey, problem) }
        let current = try await store.sealedSharedKey(named: name) ?? sealed
        do {
            return try box.open(current, context: SharedKey.context(name))
        } catch let error as CoreError {
            throw StoreError(.storageKey, "The shared key '\(name)' does not open with the store's own key: " + error.message)
        }
    }
}

/// How shared keys are named and sealed, the same in every backend.
public enum SharedKey {
    /// The CSRF key of the portal's forms: a form one instance served is accepted by any other.
    public static let csrf = "csrf"
    /// The HMAC key of lingering HTTP Basic credentials: one accepted by one instance is found by the others.
    public static let basicLinger = "basic_linger"

    /// The context a shared key is sealed with (it binds the sealed value to its name).
    public static func context(_ name: String) -> String { "portcullis shared key " + name }

    /// The name of its row in the store's key-value table.
    package static func storedName(_ name: String) -> String { "shared_key:" + name }

    /// The key's name from its row's name; nil for other rows.
    package static func name(fromStored stored: String) -> String? {
        stored.hasPrefix("shared_key:") ? String(stored.dropFirst("shared_key:".count)) : nil
    }
}
