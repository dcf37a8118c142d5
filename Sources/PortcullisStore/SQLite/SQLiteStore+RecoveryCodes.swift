import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    static let recoveryKeyName = "recovery_code_key"
    static let recoveryKeyContext = RecoveryCode.keyContext

    public func replaceRecoveryCodes(userID: Int64, hashes: [[UInt8]], at unixTime: Int64) async throws {
        try await transaction("replace recovery codes") { connection in
            try await Self.replaceRecoveryCodes(userID: userID, hashes: hashes, at: unixTime, on: connection)
        }
    }

    static func replaceRecoveryCodes(userID: Int64, hashes: [[UInt8]], at unixTime: Int64, on connection: SQLiteConnection) async throws {
        _ = try await connection.query("DELETE FROM recovery_codes WHERE user_id = ?", [.int64(userID)])
        for hash in hashes {
            _ = try await connection.query("INSERT OR IGNORE INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)",
                                           [.int64(userID), .bytes(hash), .int64(unixTime)])
        }
    }

    public func useRecoveryCode(userID: Int64, hash: [UInt8]) async throws -> Int? {
        try await transaction("use a recovery code") { connection in
            guard try await connection.query("DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ? RETURNING user_id",
                                             [.int64(userID), .bytes(hash)]).first != nil else { return nil }
            return try await connection.query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ?", [.int64(userID)])
                .first?.column("n")?.integer ?? 0
        }
    }

    public func recoveryCodeCount(userID: Int64) async throws -> Int {
        try await exclusive("count recovery codes") { connection in
            try await connection.query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ?", [.int64(userID)]).first?.column("n")?.integer ?? 0
        }
    }

    public func sealedRecoveryKey() async throws -> [UInt8]? {
        try await exclusive("read the recovery code key") { connection in
            try await connection.query("SELECT value FROM meta WHERE key = ?", [.text(Self.recoveryKeyName)]).first?.column("value")?.bytes
        }
    }

    public func setSealedRecoveryKeyIfAbsent(_ sealed: [UInt8]) async throws {
        try await transaction("write the recovery code key") { connection in
            try await Self.checkSealedUnderCurrentKey(sealed, on: connection)
            _ = try await connection.query("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", [.text(Self.recoveryKeyName), .bytes(sealed)])
        }
    }
}
