import PortcullisCore
public import PortcullisStore
import PostgresNIO

extension PostgresStore {
    public func createUser(_ user: UserRecord) async throws -> UserRecord {
        try UserFieldRules.validate(user)
        return try await exclusive("add user") { database in
            try await Self.insert(user, on: database)
        }
    }

    static func insert(_ user: UserRecord, on database: Database) async throws -> UserRecord {
        do {
            let row = try await database.row(
                """
                INSERT INTO users (name, display_name, email, "groups", password_hash, disabled, created_at)
                VALUES (\(user.name), \(user.displayName), \(user.email), \(user.groups.joined(separator: ",")), \(user.passwordHash),
                        \(user.disabled), \(user.createdAt)) RETURNING id
                """)
            var created = user
            created.id = try row?.int64("id") ?? 0
            return created
        } catch where isUniqueViolation(error) {
            throw StoreError(.duplicate, "A user named '\(user.name)' exists already (names ignore case). Choose another name, or change the existing user.")
        }
    }

    public func importUsers(_ users: [ImportedUserRecord]) async throws -> Int {
        for entry in users {
            try UserFieldRules.validate(entry.user)
            for device in entry.devices { try OTPDeviceRecord.validateLabel(device.label) }
        }
        return try await transaction("import users") { database in
            for entry in users {
                let user = try await Self.insert(entry.user, on: database)
                for var device in entry.devices {
                    device.userID = user.id
                    try await Self.insert(device, on: database)
                }
                if entry.otpFailures > 0 {
                    try await database.execute("INSERT INTO otp_lockouts (user_id, consecutive_failures) VALUES (\(user.id), \(entry.otpFailures))")
                }
            }
            return users.count
        }
    }

    public func user(named name: String) async throws -> UserRecord? {
        try await exclusive("read user") { database in
            try await database.row("SELECT * FROM users WHERE name_key = portcullis_fold(\(storable(name)))").map(Self.user(from:))
        }
    }

    public func users() async throws -> [UserRecord] {
        try await exclusive("list users") { database in
            try await database.rows("SELECT * FROM users ORDER BY name_key, id").map(Self.user(from:))
        }
    }

    public func users(first limit: Int) async throws -> [UserRecord] {
        try await exclusive("list users") { database in
            try await database.rows("SELECT * FROM users ORDER BY name_key, id LIMIT \(Int64(max(0, limit)))").map(Self.user(from:))
        }
    }

    public func updateUser(_ user: UserRecord, endingSessions: Bool) async throws -> Int {
        try UserFieldRules.validate(user)
        return try await transaction("update user") { database in
            guard let old = try await database.row("SELECT * FROM users WHERE id = \(user.id)").map(Self.user(from:)) else {
                throw StoreError(.notFound, "No user '\(user.name)' exists; see: portcullis user list")
            }
            do {
                try await database.execute(
                    """
                    UPDATE users SET name = \(user.name), display_name = \(user.displayName), email = \(user.email),
                        "groups" = \(user.groups.joined(separator: ",")), password_hash = \(user.passwordHash), disabled = \(user.disabled)
                    WHERE id = \(user.id)
                    """)
            } catch where Self.isUniqueViolation(error) {
                throw StoreError(.duplicate, "A user named '\(user.name)' exists already (names ignore case).")
            }
            for kind in StoreChange.userChanges(from: old, to: user) {
                try await Self.log(kind, userID: user.id, on: database)
            }
            // A disabled user's sessions end with it, so enabling them again brings none back.
            if user.disabled || endingSessions { return try await Self.endSessions(userID: user.id, on: database) }
            // Sessions that proved only the old password end with it: they could step up with a code alone.
            guard old.passwordHash != user.passwordHash else { return 0 }
            return try await Self.endSessions(userID: user.id, level: .password, on: database)
        }
    }

    public func replacePasswordHash(userID: Int64, current: String, with newHash: String) async throws -> Bool {
        try await exclusive("store a new password hash") { database in
            try await database.row("UPDATE users SET password_hash = \(newHash) WHERE id = \(userID) AND password_hash = \(current) RETURNING id") != nil
        }
    }

    public func changeOwnPassword(userID: Int64, current: String, to newHash: String) async throws -> Bool {
        try await transaction("change a password") { database in
            guard try await database.row(
                "UPDATE users SET password_hash = \(newHash) WHERE id = \(userID) AND password_hash = \(current) AND NOT disabled RETURNING id") != nil
            else { return false }
            try await Self.log(.userPasswordChanged, userID: userID, on: database)
            _ = try await Self.endSessions(userID: userID, on: database)
            return true
        }
    }

    public func deleteUser(named name: String) async throws {
        try await transaction("remove user") { database in
            // Sessions, devices and app passwords go with the user (ON DELETE CASCADE).
            guard let row = try await database.row("DELETE FROM users WHERE name_key = portcullis_fold(\(storable(name))) RETURNING id") else {
                throw StoreError(.notFound, "No user '\(name)' exists; see: portcullis user list")
            }
            try await Self.log(.userRemoved, userID: try row.int64("id"), on: database)
        }
    }

    static func user(from row: PostgresRandomAccessRow) throws -> UserRecord {
        UserRecord(
            id: try row.int64("id"),
            name: try row.string("name"),
            displayName: try row.string("display_name"),
            email: try row.string("email"),
            groups: try row.string("groups").split(separator: ",").map(String.init),
            passwordHash: try row.optionalString("password_hash"),
            disabled: try row.bool("disabled"),
            createdAt: try row.int64("created_at")
        )
    }
}
