public import PortcullisStore
import PostgresNIO

extension PostgresStore {
    /// The most changes one read returns.
    static let maximumChangesPerRead = 10_000

    /// Appends a change to the log; called inside the transaction that made the change, which
    /// holds the write lock, so sequence order is commit order.
    static func log(_ kind: StoreChange.Kind, userID: Int64?, sessionHash: [UInt8]? = nil, on database: Database) async throws {
        try await database.execute(
            "INSERT INTO changes (at, kind, user_id, session_hash) VALUES (\(unescaped: now), \(kind.rawValue), \(userID), \(sessionHash.map(bytea)))")
        if kind.changesCredentials, let userID { try await forgetBasicLingers(ofUser: userID, on: database) }
        // Delivered to every listening instance when the transaction commits; several in one are one.
        try await database.execute("SELECT pg_notify(\(changeChannel), '')")
    }

    public func latestChangeSequence() async throws -> Int64 {
        try await exclusive("read the change log") { database in
            try await Self.latestChangeSequence(on: database)
        }
    }

    public func changes(after sequence: Int64, limit: Int) async throws -> StoreChanges {
        guard (1...Self.maximumChangesPerRead).contains(limit) else {
            throw StoreError(.invalidInput, "Read 1 to \(Self.maximumChangesPerRead) changes at a time.")
        }
        return try await exclusive("read the change log") { database in
            // One snapshot for the three reads, so a prune between them cannot hide changes.
            try await database.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                let latest = try await Self.latestChangeSequence(on: database)
                let result: StoreChanges
                if sequence < (try await Self.prunedThrough(on: database)) || sequence > latest {
                    result = .fellBehind(latest: latest)
                } else {
                    var changes: [StoreChange] = []
                    var unknown = false
                    for row in try await database.rows("SELECT * FROM changes WHERE seq > \(sequence) ORDER BY seq LIMIT \(Int64(limit))") {
                        // A kind this version does not know (a newer one wrote it): only a full reload is safe.
                        guard let change = try Self.change(from: row) else {
                            unknown = true
                            break
                        }
                        changes.append(change)
                    }
                    result = unknown ? .fellBehind(latest: latest) : .changes(changes)
                }
                try await database.execute("COMMIT")
                return result
            } catch {
                try? await database.execute("ROLLBACK")
                throw error
            }
        }
    }

    public func pruneChanges(keepingLast count: Int) async throws -> Int {
        let count = max(0, count)
        return try await transaction("prune the change log") { database in
            let latest = try await Self.latestChangeSequence(on: database)
            let cutoff = latest - Int64(min(count, Int(Int32.max)))
            guard cutoff > (try await Self.prunedThrough(on: database)) else { return 0 }
            let removed = try await database.rows("DELETE FROM changes WHERE seq <= \(cutoff) RETURNING seq").count
            try await database.execute("UPDATE change_log SET pruned_through = \(cutoff)")
            return removed
        }
    }

    /// The last sequence assigned, also when the log has been pruned empty.
    static func latestChangeSequence(on database: Database) async throws -> Int64 {
        let newest = try await database.row("SELECT MAX(seq) AS seq FROM changes")?.optionalInt64("seq") ?? 0
        return max(newest, try await prunedThrough(on: database))
    }

    /// Every change up to this sequence has been pruned.
    static func prunedThrough(on database: Database) async throws -> Int64 {
        try await database.row("SELECT pruned_through FROM change_log")?.int64("pruned_through") ?? 0
    }

    /// A change row; nil for a kind this version does not know.
    static func change(from row: PostgresRandomAccessRow) throws -> StoreChange? {
        guard let kind = StoreChange.Kind(rawValue: try row.string("kind")) else { return nil }
        return StoreChange(sequence: try row.int64("seq"), at: try row.int64("at"), kind: kind,
                           userID: try row.optionalInt64("user_id"), sessionHash: try row.optionalBytes("session_hash"))
    }
}
