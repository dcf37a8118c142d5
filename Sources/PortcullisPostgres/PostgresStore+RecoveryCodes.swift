import PortcullisCore
import PortcullisStore
import PostgresNIO

extension PostgresStore {
    static let recoveryKeyName = "recovery_code_key"

    public func replaceRecoveryCodes(userID: Int64, hashes: [[UInt8]], at unixTime: Int64) async throws {
        try await transaction("replace recovery codes") { database in
            try await Self.replaceRecoveryCodes(userID: userID, hashes: hashes, at: unixTime, on: database)
        }
    }

    static func replaceRecoveryCodes(userID: Int64, hashes: [[UInt8]], at unixTime: Int64, on database: Database) async throws {
        try await database.execute("DELETE FROM recovery_codes WHERE user_id = \(userID)")
        for hash in hashes {
            try await database.execute(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (\(userID), \(bytea(hash)), \(unixTime)) ON CONFLICT DO NOTHING")
        }
    }

    public func useRecoveryCode(userID: Int64, hash: [UInt8]) async throws -> Int? {
        try await transaction("use a recovery code") { database in
            guard try await database.row("DELETE FROM recovery_codes WHERE user_id = \(userID) AND code_hash = \(bytea(hash)) RETURNING user_id") != nil else {
                return nil
            }
            return try await database.row("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = \(userID)")?.int("n") ?? 0
        }
    }

    public func recoveryCodeCount(userID: Int64) async throws -> Int {
        try await exclusive("count recovery codes") { database in
            try await database.row("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = \(userID)")?.int("n") ?? 0
        }
    }

    public func sealedRecoveryKey() async throws -> [UInt8]? {
        try await exclusive("read the recovery code key") { database in
            try await Self.metaValue(Self.recoveryKeyName, on: database)
        }
    }

    public func setSealedRecoveryKeyIfAbsent(_ sealed: [UInt8]) async throws {
        try await transaction("write the recovery code key") { database in
            try await Self.checkSealedUnderCurrentKey(sealed, on: database)
            try await database.execute("INSERT INTO meta (key, value) VALUES (\(Self.recoveryKeyName), \(bytea(sealed))) ON CONFLICT (key) DO NOTHING")
        }
    }
}
