public import PortcullisCore
public import PortcullisStore
import PostgresNIO

extension PostgresStore {
    public func addDevice(_ device: OTPDeviceRecord) async throws {
        try OTPDeviceRecord.validateLabel(device.label)
        try await transaction("add device") { database in
            try await Self.insert(device, on: database)
            try await Self.log(.deviceAdded, userID: device.userID, on: database)
        }
    }

    static func insert(_ device: OTPDeviceRecord, on database: Database) async throws {
        try await checkSealedUnderCurrentKey(device.sealedSecret, on: database)
        do {
            try await database.execute(
                """
                INSERT INTO otp_devices (id, user_id, label, type, algorithm, digits, period, sealed_secret, sealed_pin,
                                         last_accepted, drift, created_at, last_used_at)
                VALUES (\(device.id), \(device.userID), \(device.label), \(device.parameters.type.rawValue), \(device.parameters.algorithm.rawValue),
                        \(device.parameters.digits), \(device.parameters.period), \(bytea(device.sealedSecret)), \(device.sealedPIN.map(bytea)),
                        \(device.state.lastAccepted), \(device.state.drift), \(device.createdAt), \(device.lastUsedAt))
                """)
        } catch where isUniqueViolation(error) {
            throw StoreError(.duplicate, "This user already has a device labelled '\(device.label)' (labels ignore case). Choose another label with --label.")
        }
    }

    public func devices(ofUserID userID: Int64) async throws -> [OTPDeviceRecord] {
        try await exclusive("list devices") { database in
            try await database.rows("SELECT * FROM otp_devices WHERE user_id = \(userID) ORDER BY created_at, added").map(Self.device(from:))
        }
    }

    public func removeDevice(userID: Int64, label: String) async throws {
        try await transaction("remove device") { database in
            guard try await database.row("DELETE FROM otp_devices WHERE user_id = \(userID) AND label_key = portcullis_fold(\(storable(label))) RETURNING id") != nil else {
                throw StoreError(.notFound, "The user has no device labelled '\(label)'; see: portcullis user otp list NAME")
            }
            try await Self.log(.deviceRemoved, userID: userID, on: database)
        }
    }

    public func removeDeviceUnlessLast(userID: Int64, label: String) async throws {
        try await transaction("remove device") { database in
            // One statement decides, under the write lock: the label's row goes only while the user has another.
            let removed = try await database.row(
                """
                DELETE FROM otp_devices WHERE user_id = \(userID) AND label_key = portcullis_fold(\(storable(label)))
                    AND (SELECT COUNT(*) FROM otp_devices WHERE user_id = \(userID)) > 1 RETURNING id
                """)
            guard removed == nil else { return try await Self.log(.deviceRemoved, userID: userID, on: database) }
            guard try await database.row("SELECT id FROM otp_devices WHERE user_id = \(userID) AND label_key = portcullis_fold(\(storable(label)))") == nil else {
                throw StoreError(.conflict, "'\(label)' is the only device: add another one before removing it.")
            }
            throw StoreError(.notFound, "There is no device labelled '\(label)'.")
        }
    }

    public func renameDevice(userID: Int64, label: String, to newLabel: String) async throws {
        try OTPDeviceRecord.validateLabel(newLabel)
        try await transaction("rename device") { database in
            do {
                guard try await database.row(
                    "UPDATE otp_devices SET label = \(newLabel) WHERE user_id = \(userID) AND label_key = portcullis_fold(\(storable(label))) RETURNING id") != nil else {
                    throw StoreError(.notFound, "There is no device labelled '\(label)'.")
                }
            } catch where Self.isUniqueViolation(error) {
                throw StoreError(.duplicate, "Another device is labelled '\(newLabel)' already (labels ignore case). Choose another name.")
            }
        }
    }

    public func recordAcceptance(deviceID: String, state: OTPDeviceState, at unixTime: Int64) async throws -> Bool {
        // One statement: under READ COMMITTED a second racer waits for the first's row lock, then
        // re-checks `last_accepted <` against the committed row and changes nothing.
        try await exclusive("record a used code") { database in
            try await database.row(
                """
                UPDATE otp_devices SET last_accepted = \(state.lastAccepted), drift = \(state.drift), last_used_at = \(unixTime)
                WHERE id = \(deviceID) AND last_accepted < \(state.lastAccepted) RETURNING id
                """) != nil
        }
    }

    // MARK: SecretStore

    static let keyCheckName = "storage_key_check"

    /// Refuses a value sealed under another key than the store's: a command that opened the store
    /// before a `storage rotate-key` committed would otherwise write a secret no server can open.
    /// Checked in the writing transaction, which holds the write lock a rotation needs too.
    static func checkSealedUnderCurrentKey(_ sealed: [UInt8], on database: Database) async throws {
        guard let check = try await metaValue(keyCheckName, on: database),
              let current = SecretBox.keyFingerprint(ofSealed: check),  // a check of the first format: no rotation since
              let used = SecretBox.keyFingerprint(ofSealed: sealed), used != current else { return }
        throw StoreError(.storageKey, "The storage key changed while this command ran (portcullis storage rotate-key, key \(current)); nothing was saved. Run the command again.")
    }

    static func metaValue(_ key: String, on database: Database) async throws -> [UInt8]? {
        try await database.row("SELECT value FROM meta WHERE key = \(key)")?.bytes("value")
    }

    public func storageKeyCheck() async throws -> [UInt8]? {
        try await exclusive("read the storage key check") { database in
            try await Self.metaValue(Self.keyCheckName, on: database)
        }
    }

    public func setStorageKeyCheckIfAbsent(_ check: [UInt8]) async throws {
        try await exclusive("write the storage key check") { database in
            try await database.execute("INSERT INTO meta (key, value) VALUES (\(Self.keyCheckName), \(bytea(check))) ON CONFLICT (key) DO NOTHING")
        }
    }

    public func resealAll(newKeyCheck: [UInt8], reseal: @Sendable ([UInt8], String) throws -> [UInt8]) async throws -> Int {
        // `exclusive` waits for its closure to end before returning, so `reseal` never outlives this call.
        try await withoutActuallyEscaping(reseal) { reseal in try await resealAll(newKeyCheck: newKeyCheck, escapingReseal: reseal) }
    }

    private func resealAll(newKeyCheck: [UInt8], escapingReseal reseal: @escaping @Sendable ([UInt8], String) throws -> [UInt8]) async throws -> Int {
        try await transaction("re-encrypt secrets") { database in
            let rows = try await database.rows("SELECT id, sealed_secret, sealed_pin FROM otp_devices")
            for row in rows {
                let id = try row.string("id")
                let secret = try reseal(try row.bytes("sealed_secret"), OTPDeviceRecord.secretContext(deviceID: id))
                let pin = try row.optionalBytes("sealed_pin").map { try reseal($0, OTPDeviceRecord.pinContext(deviceID: id)) }
                try await database.execute("UPDATE otp_devices SET sealed_secret = \(bytea(secret)), sealed_pin = \(pin.map(bytea)) WHERE id = \(id)")
            }
            if let sealed = try await Self.metaValue(Self.recoveryKeyName, on: database) {
                let resealed = try reseal(sealed, RecoveryCode.keyContext)
                try await database.execute("UPDATE meta SET value = \(bytea(resealed)) WHERE key = \(Self.recoveryKeyName)")
            }
            for row in try await database.rows("SELECT key, value FROM meta WHERE starts_with(key, 'shared_key:')") {
                guard let name = SharedKey.name(fromStored: try row.string("key")) else { continue }
                let resealed = try reseal(try row.bytes("value"), SharedKey.context(name))
                try await database.execute("UPDATE meta SET value = \(bytea(resealed)) WHERE key = \(try row.string("key"))")
            }
            try await database.execute(
                "INSERT INTO meta (key, value) VALUES (\(Self.keyCheckName), \(bytea(newKeyCheck))) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            try await Self.log(.storageKeyChanged, userID: nil, on: database)
            return rows.count
        }
    }

    public func sealedSharedKey(named name: String) async throws -> [UInt8]? {
        try await exclusive("read a shared key") { database in
            try await Self.metaValue(SharedKey.storedName(name), on: database)
        }
    }

    public func setSealedSharedKeyIfAbsent(named name: String, _ sealed: [UInt8]) async throws {
        try await transaction("write a shared key") { database in
            try await Self.checkSealedUnderCurrentKey(sealed, on: database)
            try await database.execute("INSERT INTO meta (key, value) VALUES (\(SharedKey.storedName(name)), \(bytea(sealed))) ON CONFLICT (key) DO NOTHING")
        }
    }

    static func device(from row: PostgresRandomAccessRow) throws -> OTPDeviceRecord {
        let parameters = OTPParameters(
            type: OTPType(rawValue: try row.string("type")) ?? .totp,
            algorithm: OTPAlgorithm(rawValue: try row.string("algorithm")) ?? .sha1,
            digits: try row.int("digits"),
            period: try row.int("period")
        )
        return OTPDeviceRecord(
            id: try row.string("id"),
            userID: try row.int64("user_id"),
            label: try row.string("label"),
            parameters: parameters,
            sealedSecret: try row.bytes("sealed_secret"),
            sealedPIN: try row.optionalBytes("sealed_pin"),
            state: OTPDeviceState(lastAccepted: try row.int64("last_accepted"), drift: try row.int("drift")),
            createdAt: try row.int64("created_at"),
            lastUsedAt: try row.optionalInt64("last_used_at")
        )
    }
}
