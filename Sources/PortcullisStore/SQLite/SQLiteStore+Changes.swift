import SQLiteNIO

extension SQLiteStore {
    /// The most changes one read returns.
    static let maximumChangesPerRead = 10_000

    /// Appends a change to the log; called inside the transaction that made the change.
    static func log(_ kind: StoreChange.Kind, userID: Int64?, sessionHash: [UInt8]? = nil, on connection: SQLiteConnection) async throws {
        _ = try await connection.query(
            "INSERT INTO changes (at, kind, user_id, session_hash) VALUES (CAST(strftime('%s','now') AS INTEGER), ?, ?, ?)",
            [.text(kind.rawValue), .optionalInteger(userID), sessionHash.map { .bytes($0) } ?? .null]
        )
        if kind.changesCredentials, let userID { try await forgetBasicLingers(ofUser: userID, on: connection) }
    }

    public func latestChangeSequence() async throws -> Int64 {
        try await exclusive("read the change log") { connection in
            try await Self.latestChangeSequence(on: connection)
        }
    }

    public func changes(after sequence: Int64, limit: Int) async throws -> StoreChanges {
        guard (1...Self.maximumChangesPerRead).contains(limit) else {
            throw StoreError(.invalidInput, "Read 1 to \(Self.maximumChangesPerRead) changes at a time.")
        }
        return try await exclusive("read the change log") { connection in
            let latest = try await Self.latestChangeSequence(on: connection)
            guard sequence >= (try await Self.prunedThrough(on: connection)), sequence <= latest else {
                return .fellBehind(latest: latest)
            }
            let rows = try await connection.query("SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", [.int64(sequence), .integer(limit)])
            var changes: [StoreChange] = []
            for row in rows {
                // A kind this version does not know (a newer one wrote it): only a full reload is safe.
                guard let change = Self.change(from: row) else { return .fellBehind(latest: latest) }
                changes.append(change)
            }
            return .changes(changes)
        }
    }

    public func pruneChanges(keepingLast count: Int) async throws -> Int {
        let count = max(0, count)
        return try await transaction("prune the change log") { connection in
            let latest = try await Self.latestChangeSequence(on: connection)
            let cutoff = latest - Int64(min(count, Int(Int32.max)))
            guard cutoff > (try await Self.prunedThrough(on: connection)) else { return 0 }
            let removed = try await connection.query("DELETE FROM changes WHERE seq <= ? RETURNING seq", [.int64(cutoff)]).count
            _ = try await connection.query("UPDATE meta SET value = ? WHERE key = 'changes_pruned_through'", [.int64(cutoff)])
            return removed
        }
    }

    /// The last sequence assigned, also when the log has been pruned empty.
    static func latestChangeSequence(on connection: SQLiteConnection) async throws -> Int64 {
        let newest = try await connection.query("SELECT MAX(seq) AS seq FROM changes").first?.column("seq")?.integer ?? 0
        return max(Int64(newest), try await prunedThrough(on: connection))
    }

    /// Every change up to this sequence has been pruned.
    static func prunedThrough(on connection: SQLiteConnection) async throws -> Int64 {
        Int64(try await connection.query("SELECT value FROM meta WHERE key = 'changes_pruned_through'").first?.column("value")?.integer ?? 0)
    }

    /// A change row; nil for a kind this version does not know.
    static func change(from row: SQLiteRow) -> StoreChange? {
        guard let kind = StoreChange.Kind(rawValue: row.column("kind")?.string ?? "") else { return nil }
        return StoreChange(
            sequence: Int64(row.column("seq")?.integer ?? 0),
            at: Int64(row.column("at")?.integer ?? 0),
            kind: kind,
            userID: row.column("user_id").flatMap { $0.isNull ? nil : Int64($0.integer ?? 0) },
            sessionHash: row.column("session_hash")?.bytes
        )
    }
}
