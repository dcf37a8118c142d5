public import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    public func addDevice(_ device: OTPDeviceRecord) async throws {
        try OTPDeviceRecord.validateLabel(device.label)
        try await transaction("add device") { connection in
            try await Self.insert(device, on: connection)
            try await Self.log(.deviceAdded, userID: device.userID, on: connection)
        }
    }

    static func insert(_ device: OTPDeviceRecord, on connection: SQLiteConnection) async throws {
        try await checkSealedUnderCurrentKey(device.sealedSecret, on: connection)
        do {
            _ = try await connection.query(
                """
                INSERT INTO otp_devices (id, user_id, label, type, algorithm, digits, period, sealed_secret, sealed_pin,
                                         last_accepted, drift, created_at, last_used_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(device.id), .int64(device.userID), .text(device.label), .text(device.parameters.type.rawValue),
                 .text(device.parameters.algorithm.rawValue), .integer(device.parameters.digits), .integer(device.parameters.period),
                 .bytes(device.sealedSecret), device.sealedPIN.map { .bytes($0) } ?? .null,
                 .int64(device.state.lastAccepted), .integer(device.state.drift), .int64(device.createdAt),
                 .optionalInteger(device.lastUsedAt)]
            )
        } catch where isUniqueViolation(error) {
            throw StoreError(.duplicate, "This user already has a device labelled '\(device.label)' (labels ignore case). Choose another label with --label.")
        }
    }

    public func devices(ofUserID userID: Int64) async throws -> [OTPDeviceRecord] {
        try await exclusive("list devices") { connection in
            try await connection.query("SELECT * FROM otp_devices WHERE user_id = ? ORDER BY created_at, rowid", [.int64(userID)])
                .map(Self.device(from:))
        }
    }

    public func removeDevice(userID: Int64, label: String) async throws {
        try await transaction("remove device") { connection in
            let rows = try await connection.query("DELETE FROM otp_devices WHERE user_id = ? AND label = ? RETURNING id", [.int64(userID), .text(label)])
            guard !rows.isEmpty else { throw StoreError(.notFound, "The user has no device labelled '\(label)'; see: portcullis user otp list NAME") }
            try await Self.log(.deviceRemoved, userID: userID, on: connection)
        }
    }

    public func removeDeviceUnlessLast(userID: Int64, label: String) async throws {
        try await transaction("remove device") { connection in
            // One statement decides: the label's row goes only while the user has another.
            let removed = try await connection.query(
                "DELETE FROM otp_devices WHERE user_id = ? AND label = ? AND (SELECT COUNT(*) FROM otp_devices WHERE user_id = ?) > 1 RETURNING id",
                [.int64(userID), .text(label), .int64(userID)])
            guard removed.isEmpty else { return try await Self.log(.deviceRemoved, userID: userID, on: connection) }
            guard try await connection.query("SELECT id FROM otp_devices WHERE user_id = ? AND label = ?", [.int64(userID), .text(label)]).isEmpty else {
                throw StoreError(.conflict, "'\(label)' is the only device: add another one before removing it.")
            }
            throw StoreError(.notFound, "There is no device labelled '\(label)'.")
        }
    }

    public func renameDevice(userID: Int64, label: String, to newLabel: String) async throws {
        try OTPDeviceRecord.validateLabel(newLabel)
        try await transaction("rename device") { connection in
            do {
                guard !(try await connection.query("UPDATE otp_devices SET label = ? WHERE user_id = ? AND label = ? RETURNING id",
                                                   [.text(newLabel), .int64(userID), .text(label)]).isEmpty) else {
                    throw StoreError(.notFound, "There is no device labelled '\(label)'.")
                }
            } catch where Self.isUniqueViolation(error) {
                throw StoreError(.duplicate, "Another device is labelled '\(newLabel)' already (labels ignore case). Choose another name.")
            }
        }
    }

    public func recordAcceptance(deviceID: String, state: OTPDeviceState, at unixTime: Int64) async throws -> Bool {
        try await exclusive("record a used code") { connection in
            let rows = try await connection.query(
                "UPDATE otp_devices SET last_accepted = ?, drift = ?, last_used_at = ? WHERE id = ? AND last_accepted < ? RETURNING id",
                [.int64(state.lastAccepted), .integer(state.drift), .int64(unixTime), .text(deviceID), .int64(state.lastAccepted)]
            )
            return !rows.isEmpty
        }
    }

    // MARK: SecretStore

    static let keyCheckName = "storage_key_check"

    /// Refuses a value sealed under another key than the store's: a command that opened the store
    /// before a `storage rotate-key` committed would otherwise write a secret no server can open.
    /// Checked in the writing transaction, so a rotation cannot slip in between.
    static func checkSealedUnderCurrentKey(_ sealed: [UInt8], on connection: SQLiteConnection) async throws {
        guard let check = try await connection.query("SELECT value FROM meta WHERE key = ?", [.text(keyCheckName)]).first?.column("value")?.bytes,
              let current = SecretBox.keyFingerprint(ofSealed: check),  // a check of the first format: no rotation since
              let used = SecretBox.keyFingerprint(ofSealed: sealed), used != current else { return }
        throw StoreError(.storageKey, "The storage key changed while this command ran (portcullis storage rotate-key, key \(current)); nothing was saved. Run the command again.")
    }

    public func storageKeyCheck() async throws -> [UInt8]? {
        try await exclusive("read the storage key check") { connection in
            try await connection.query("SELECT value FROM meta WHERE key = ?", [.text(Self.keyCheckName)]).first?.column("value")?.bytes
        }
    }

    public func setStorageKeyCheckIfAbsent(_ check: [UInt8]) async throws {
        try await exclusive("write the storage key check") { connection in
            _ = try await connection.query("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", [.text(Self.keyCheckName), .bytes(check)])
        }
    }

    public func resealAll(newKeyCheck: [UInt8], reseal: @Sendable ([UInt8], String) throws -> [UInt8]) async throws -> Int {
        try await transaction("re-encrypt secrets") { connection in
            let rows = try await connection.query("SELECT id, sealed_secret, sealed_pin FROM otp_devices")
            for row in rows {
                let id = row.column("id")?.string ?? ""
                let secret = try reseal(row.column("sealed_secret")?.bytes ?? [], OTPDeviceRecord.secretContext(deviceID: id))
                let pin = try row.column("sealed_pin")?.bytes.map { try reseal($0, OTPDeviceRecord.pinContext(deviceID: id)) }
                _ = try await connection.query("UPDATE otp_devices SET sealed_secret = ?, sealed_pin = ? WHERE id = ?",
                                               [.bytes(secret), pin.map { .bytes($0) } ?? .null, .text(id)])
            }
            if let sealed = try await connection.query("SELECT value FROM meta WHERE key = ?", [.text(Self.recoveryKeyName)]).first?.column("value")?.bytes {
                _ = try await connection.query("UPDATE meta SET value = ? WHERE key = ?",
                                               [.bytes(try reseal(sealed, Self.recoveryKeyContext)), .text(Self.recoveryKeyName)])
            }
            for row in try await connection.query("SELECT key, value FROM meta WHERE key LIKE 'shared\\_key:%' ESCAPE '\\'") {
                guard let stored = row.column("key")?.string, let name = SharedKey.name(fromStored: stored), let sealed = row.column("value")?.bytes else { continue }
                _ = try await connection.query("UPDATE meta SET value = ? WHERE key = ?", [.bytes(try reseal(sealed, SharedKey.context(name))), .text(stored)])
            }
            _ = try await connection.query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [.text(Self.keyCheckName), .bytes(newKeyCheck)])
            try await Self.log(.storageKeyChanged, userID: nil, on: connection)
            return rows.count
        }
    }

    public func sealedSharedKey(named name: String) async throws -> [UInt8]? {
        try await exclusive("read a shared key") { connection in
            try await connection.query("SELECT value FROM meta WHERE key = ?", [.text(SharedKey.storedName(name))]).first?.column("value")?.bytes
        }
    }

    public func setSealedSharedKeyIfAbsent(named name: String, _ sealed: [UInt8]) async throws {
        try await transaction("write a shared key") { connection in
            try await Self.checkSealedUnderCurrentKey(sealed, on: connection)
            _ = try await connection.query("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", [.text(SharedKey.storedName(name)), .bytes(sealed)])
        }
    }

    static func device(from row: SQLiteRow) -> OTPDeviceRecord {
        let parameters = OTPParameters(
            type: OTPType(rawValue: row.column("type")?.string ?? "") ?? .totp,
            algorithm: OTPAlgorithm(rawValue: row.column("algorithm")?.string ?? "") ?? .sha1,
            digits: row.column("digits")?.integer ?? 6,
            period: row.column("period")?.integer ?? 30
        )
        return OTPDeviceRecord(
            id: row.column("id")?.string ?? "",
            userID: Int64(row.column("user_id")?.integer ?? 0),
            label: row.column("label")?.string ?? "",
            parameters: parameters,
            sealedSecret: row.column("sealed_secret")?.bytes ?? [],
            sealedPIN: row.column("sealed_pin")?.bytes,
            state: OTPDeviceState(lastAccepted: Int64(row.column("last_accepted")?.integer ?? -1), drift: row.column("drift")?.integer ?? 0),
            createdAt: Int64(row.column("created_at")?.integer ?? 0),
            lastUsedAt: row.column("last_used_at").flatMap { $0.isNull ? nil : Int64($0.integer ?? 0) }
        )
    }
}
