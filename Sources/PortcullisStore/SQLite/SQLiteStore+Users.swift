import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    public func createUser(_ user: UserRecord) async throws -> UserRecord {
        try UserFieldRules.validate(user)
        return try await exclusive("add user") { connection in
            try await Self.insert(user, on: connection)
        }
    }

    static func insert(_ user: UserRecord, on connection: SQLiteConnection) async throws -> UserRecord {
        do {
            let rows = try await connection.query(
                "INSERT INTO users (name, display_name, email, groups, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [.text(user.name), .text(user.displayName), .text(user.email), .text(user.groups.joined(separator: ",")),
                 user.passwordHash.map { .text($0) } ?? .null, .integer(user.disabled ? 1 : 0), .int64(user.createdAt)]
            )
            var created = user
            created.id = Int64(rows.first?.column("id")?.integer ?? 0)
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
        return try await transaction("import users") { connection in
            for entry in users {
                let user = try await Self.insert(entry.user, on: connection)
                for var device in entry.devices {
                    device.userID = user.id
                    try await Self.insert(device, on: connection)
                }
                if entry.otpFailures > 0 {
                    _ = try await connection.query("INSERT INTO otp_lockouts (user_id, consecutive_failures) VALUES (?, ?)", [.int64(user.id), .integer(entry.otpFailures)])
                }
            }
            return users.count
        }
    }

    public func user(named name: String) async throws -> UserRecord? {
        try await exclusive("read user") { connection in
            try await connection.query("SELECT * FROM users WHERE name = ?", [.text(name)]).first.map(Self.user(from:))
        }
    }

    public func users() async throws -> [UserRecord] {
        try await exclusive("list users") { connection in
            try await connection.query("SELECT * FROM users ORDER BY name").map(Self.user(from:))
        }
    }

    public func users(first limit: Int) async throws -> [UserRecord] {
        try await exclusive("list users") { connection in
            try await connection.query("SELECT * FROM users ORDER BY name LIMIT ?", [.int64(Int64(max(0, limit)))]).map(Self.user(from:))
        }
    }

    public func updateUser(_ user: UserRecord, endingSessions: Bool) async throws -> Int {
        try UserFieldRules.validate(user)
        return try await transaction("update user") { connection in
            guard let old = try await connection.query("SELECT * FROM users WHERE id = ?", [.int64(user.id)]).first.map(Self.user(from:)) else {
                throw StoreError(.notFound, "No user '\(user.name)' exists; see: portcullis user list")
            }
            do {
                _ = try await connection.query(
                    "UPDATE users SET name = ?, display_name = ?, email = ?, groups = ?, password_hash = ?, disabled = ? WHERE id = ?",
                    [.text(user.name), .text(user.displayName), .text(user.email), .text(user.groups.joined(separator: ",")),
                     user.passwordHash.map { .text($0) } ?? .null, .integer(user.disabled ? 1 : 0), .int64(user.id)]
                )
            } catch where Self.isUniqueViolation(error) {
                throw StoreError(.duplicate, "A user named '\(user.name)' exists already (names ignore case).")
            }
            for kind in StoreChange.userChanges(from: old, to: user) {
                try await Self.log(kind, userID: user.id, on: connection)
            }
            // A disabled user's sessions end with it, so enabling them again brings none back.
            if user.disabled || endingSessions { return try await Self.endSessions(userID: user.id, on: connection) }
            // Sessions that proved only the old password end with it: they could step up with a code alone.
            guard old.passwordHash != user.passwordHash else { return 0 }
            return try await Self.endSessions(userID: user.id, level: .password, on: connection)
        }
    }

    public func replacePasswordHash(userID: Int64, current: String, with newHash: String) async throws -> Bool {
        try await exclusive("store a new password hash") { connection in
            !(try await connection.query("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ? RETURNING id",
                                         [.text(newHash), .int64(userID), .text(current)]).isEmpty)
        }
    }

    public func changeOwnPassword(userID: Int64, current: String, to newHash: String) async throws -> Bool {
        try await transaction("change a password") { connection in
            guard try await connection.query("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ? AND disabled = 0 RETURNING id",
                                             [.text(newHash), .int64(userID), .text(current)]).first != nil else { return false }
            try await Self.log(.userPasswordChanged, userID: userID, on: connection)
            _ = try await Self.endSessions(userID: userID, on: connection)
            return true
        }
    }

    public func deleteUser(named name: String) async throws {
        try await transaction("remove user") { connection in
            // Sessions, devices and app passwords go with the user (ON DELETE CASCADE).
            guard let row = try await connection.query("DELETE FROM users WHERE name = ? RETURNING id", [.text(name)]).first else {
                throw StoreError(.notFound, "No user '\(name)' exists; see: portcullis user list")
            }
            try await Self.log(.userRemoved, userID: Int64(row.column("id")?.integer ?? 0), on: connection)
        }
    }

    static func user(from row: SQLiteRow) -> UserRecord {
        UserRecord(
            id: Int64(row.column("id")?.integer ?? 0),
            name: row.column("name")?.string ?? "",
            displayName: row.column("display_name")?.string ?? "",
            email: row.column("email")?.string ?? "",
            groups: (row.column("groups")?.string ?? "").split(separator: ",").map(String.init),
            passwordHash: row.column("password_hash")?.string,
            disabled: (row.column("disabled")?.integer ?? 0) != 0,
            createdAt: Int64(row.column("created_at")?.integer ?? 0)
        )
    }
}
