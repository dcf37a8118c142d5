import PortcullisCore
public import PortcullisStore
import PostgresNIO

extension PostgresStore {
    public func createInvitation(_ invitation: InvitationRecord) async throws {
        try await transaction("create an invitation") { database in
            try await database.execute("DELETE FROM invitations WHERE user_id = \(invitation.userID)")
            try await database.execute(
                """
                INSERT INTO invitations (token_hash, user_id, kind, created_at, expires_at)
                VALUES (\(bytea(invitation.tokenHash)), \(invitation.userID), \(invitation.kind.rawValue), \(invitation.createdAt), \(invitation.expiresAt))
                """)
        }
    }

    public func invitation(tokenHash: [UInt8], at unixTime: Int64) async throws -> (InvitationRecord, UserRecord)? {
        try await exclusive("read an invitation") { database in
            guard let row = try await database.row(
                """
                SELECT i.token_hash, i.kind, i.created_at AS i_created_at, i.expires_at, u.*
                FROM invitations i JOIN users u ON u.id = i.user_id
                WHERE i.token_hash = \(bytea(tokenHash)) AND i.expires_at > \(unixTime) AND NOT u.disabled
                """), let kind = InvitationRecord.Kind(rawValue: try row.string("kind")) else { return nil }
            let user = try Self.user(from: row)
            let record = InvitationRecord(tokenHash: try row.bytes("token_hash"), userID: user.id, kind: kind,
                                          createdAt: try row.int64("i_created_at"), expiresAt: try row.int64("expires_at"))
            return (record, user)
        }
    }

    public func completeInvitation(_ completion: InvitationCompletion, at unixTime: Int64) async throws -> Bool {
        try OTPDeviceRecord.validateLabel(completion.device.label)
        return try await transaction("complete an invitation") { database in
            guard try await database.row(
                """
                DELETE FROM invitations WHERE token_hash = \(bytea(completion.tokenHash)) AND user_id = \(completion.userID) AND expires_at > \(unixTime)
                    AND user_id IN (SELECT id FROM users WHERE NOT disabled) RETURNING user_id
                """) != nil else { return false }
            let userID = completion.userID
            var endsSessions = false
            if let hash = completion.newPasswordHash {
                try await database.execute("UPDATE users SET password_hash = \(hash) WHERE id = \(userID)")
                try await Self.log(.userPasswordChanged, userID: userID, on: database)
                endsSessions = true
            }
            if completion.replacesDevices {
                if try await database.row("DELETE FROM otp_devices WHERE user_id = \(userID) RETURNING id") != nil {
                    try await Self.log(.deviceRemoved, userID: userID, on: database)
                }
                endsSessions = true
            }
            // A lost phone may be logged in somewhere; a new password voids what the old one opened.
            if endsSessions { _ = try await Self.endSessions(userID: userID, on: database) }
            try await Self.insert(completion.device, on: database)
            try await Self.log(.deviceAdded, userID: userID, on: database)
            try await Self.replaceRecoveryCodes(userID: userID, hashes: completion.recoveryCodeHashes, at: unixTime, on: database)
            return true
        }
    }

    public func purgeInvitations(before unixTime: Int64) async throws -> Int {
        try await exclusive("forget expired invitations") { database in
            try await database.rows("DELETE FROM invitations WHERE expires_at <= \(unixTime) RETURNING user_id").count
        }
    }
}
