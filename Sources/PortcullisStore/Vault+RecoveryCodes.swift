import PortcullisCore

/// Recovery codes: made by `portcullis user recovery-codes`, used once each in the login form.
extension Vault {
    /// Makes ``RecoveryCode/count`` new codes for `user`, voiding the old ones; returns them
    /// formatted, the only time they are ever shown.
    public func makeRecoveryCodes(for user: UserRecord, at now: Int64) async throws -> [String] {
        let (codes, hashes) = try await newRecoveryCodes()
        try await store.replaceRecoveryCodes(userID: user.id, hashes: hashes, at: now)
        return codes
    }

    /// ``RecoveryCode/count`` new codes, formatted, with the hashes the store keeps (not stored yet).
    public func newRecoveryCodes() async throws -> (codes: [String], hashes: [[UInt8]]) {
        guard let key = try await recoveryKey(creating: true) else { throw StoreError(.database, "Could not store the recovery codes' key.") }
        var random = SystemRandomNumberGenerator()
        var codes: [String] = []
        while codes.count < RecoveryCode.count {
            let code = RecoveryCode.generate(using: &random)
            if !codes.contains(code) { codes.append(code) }
        }
        return (codes, codes.map { RecoveryCode.hash(RecoveryCode.normalized($0)!, key: key) })
    }

    /// Uses up `typed` when it is one of `user`'s recovery codes; the number left, or nil when it
    /// is not (not shaped like one, or not theirs, or used already).
    /// - Throws: ``StoreError/Code/storageKey`` when the codes' key cannot be opened with the storage key.
    public func useRecoveryCode(_ typed: String, of user: UserRecord) async throws -> Int? {
        guard let normalized = RecoveryCode.normalized(typed), let key = try await recoveryKey(creating: false) else { return nil }
        return try await store.useRecoveryCode(userID: user.id, hash: RecoveryCode.hash(normalized, key: key))
    }

    /// The HMAC key of recovery codes, made (and sealed) the first time codes are made.
    private func recoveryKey(creating: Bool) async throws -> [UInt8]? {
        if let sealed = try await store.sealedRecoveryKey() { return try await openRecoveryKey(sealed) }
        guard creating else { return nil }
        var random = SystemRandomNumberGenerator()
        let key = SecretGenerator.makeSecret(byteCount: 32, using: &random)
        try await store.setSealedRecoveryKeyIfAbsent(box.seal(key, context: RecoveryCode.keyContext, using: &random))
        // Another command may have stored its key first: use whichever the store kept.
        guard let stored = try await store.sealedRecoveryKey() else { return key }
        return try await openRecoveryKey(stored)
    }

    private func openRecoveryKey(_ sealed: [UInt8]) async throws -> [UInt8] {
        if let key = try? box.open(sealed, context: RecoveryCode.keyContext) { return key }
        if case .failed(let problem) = try await reloadKey() { throw StoreError(.storageKey, problem) }
        let current = try await store.sealedRecoveryKey() ?? sealed
        do {
            return try box.open(current, context: RecoveryCode.keyContext)
        } catch let error as CoreError {
            throw StoreError(.storageKey, "The recovery codes' key does not open with the store's own key: " + error.message)
        }
    }
}
