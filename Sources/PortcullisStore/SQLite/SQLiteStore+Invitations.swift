import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    public func createInvitation(_ invitation: InvitationRecord) async throws {
        try await transaction("create an invitation") { connection in
            _ = try await connection.query("DELETE FROM invitations WHERE user_id = ?", [.int64(invitation.userID)])
            _ = try await connection.query(
                "INSERT INTO invitations (token_hash, user_id, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                [.bytes(invitation.tokenHash), .int64(invitation.userID), .text(invitation.kind.rawValue), .int64(invitation.createdAt), .int64(invitation.expiresAt)]
            )
        }
    }

    public func invitation(tokenHash: [UInt8], at unixTime: Int64) async throws -> (InvitationRecord, UserRecord)? {
        try await exclusive("read an invitation") { connection in
            let rows = try await connection.query(
                """
                SELECT i.token_hash, i.kind, i.created_at, i.expires_at, u.*
                FROM invitations i JOIN users u ON u.id = i.user_id
                WHERE i.token_hash = ? AND i.expires_at > ? AND u.disabled = 0
                """,
                [.bytes(tokenHash), .int64(unixTime)]
            )
            guard let row = rows.first, let kind = InvitationRecord.Kind(rawValue: row.column("kind")?.string ?? "") else { return nil }
            let user = Self.user(from: row)
            let record = InvitationRecord(tokenHash: row.column("token_hash")?.bytes ?? [], userID: user.id, kind: kind,
                                          createdAt: Int64(row.column("created_at")?.integer ?? 0), expiresAt: Int64(row.column("expires_at")?.integer ?? 0))
            return (record, user)
        }
    }

    public func completeInvitation(_ completion: InvitationCompletion, at unixTime: Int64) async throws -> Bool {
        try OTPDeviceRecord.validateLabel(completion.device.label)
        return try await transaction("complete an invitation") { connection in
            guard try await connection.query(
                """
                DELETE FROM invitations WHERE token_hash = ? AND user_id = ? AND expires_at > ?
                    AND user_id IN (SELECT id FROM users WHERE disabled = 0) RETURNING user_id
                """,
                [.bytes(completion.tokenHash), .int64(completion.userID), .int64(unixTime)]).first != nil else { return false }
            let userID = completion.userID
            var endsSessions = false
            if let hash = completion.newPasswordHash {
                _ = try await connection.query("UPDATE users SET password_hash = ? WHERE id = ?", [.text(hash), .int64(userID)])
                try await Self.log(.userPasswordChanged, userID: userID, on: connection)
                endsSessions = true
            }
            if completion.replacesDevices {
                if !(try await connection.query("DELETE FROM otp_devices WHERE user_id = ? RETURNING id", [.int64(userID)]).isEmpty) {
                    try await Self.log(.deviceRemoved, userID: userID, on: connection)
                }
                endsSessions = true
            }
            // A lost phone may be logged in somewhere; a new password voids what the old one opened.
            if endsSessions { _ = try await Self.endSessions(userID: userID, on: connection) }
            try await Self.insert(completion.device, on: connection)
            try await Self.log(.deviceAdded, userID: userID, on: connection)
            try await Self.replaceRecoveryCodes(userID: userID, hashes: completion.recoveryCodeHashes, at: unixTime, on: connection)
            return true
        }
    }

    public func purgeInvitations(before unixTime: Int64) async throws -> Int {
        try await exclusive("forget expired invitations") { connection in
            try await connection.query("DELETE FROM invitations WHERE expires_at <= ? RETURNING user_id", [.int64(unixTime)]).count
        }
    }
}
