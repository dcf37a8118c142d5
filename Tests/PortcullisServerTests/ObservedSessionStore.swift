import PortcullisStore
import Synchronization

/// A session store that forwards to a real one, counting the reads of single sessions and able to
/// hold back reads of a user's sessions (what the session sync does when a user changed) until
/// released, so tests can see what the verify path does meanwhile; and able to stop answering
/// reads as a store in an outage does.
final class ObservedSessionStore: SessionStore, ChangeLogStore, AppPasswordStore, BasicLingerStore {
    let base: SQLiteStore
    private let state = Mutex(State())

    private struct State {
        var singleReads = 0
        var holdUserReads = false
        var heldReaders = 0
        var unavailable = false
        var changeLogUnavailable = false
        var changeLogFailures = 0
    }

    init(_ base: SQLiteStore) { self.base = base }

    /// How many times one session was read by its hash.
    var singleReads: Int { state.withLock { $0.singleReads } }
    /// How many reads of a user's sessions are waiting now.
    var heldReaders: Int { state.withLock { $0.heldReaders } }

    func holdUserReads(_ hold: Bool) { state.withLock { $0.holdUserReads = hold } }

    /// While set, reads of sessions, of the change log and of lingering credentials throw ``StoreError/Code/unavailable``.
    func setUnavailable(_ unavailable: Bool) { state.withLock { $0.unavailable = unavailable } }
    /// While set, only reads of the change log throw (a store that fails in part).
    func setChangeLogUnavailable(_ unavailable: Bool) { state.withLock { $0.changeLogUnavailable = unavailable } }
    /// How many reads of the change log were refused so far.
    var changeLogFailures: Int { state.withLock { $0.changeLogFailures } }

    private func answer() throws {
        if state.withLock({ $0.unavailable }) { throw StoreError(.unavailable, "The store does not answer (test).") }
    }

    func liveSession(idHash: [UInt8], at unixTime: Int64) async throws -> (SessionRecord, UserRecord)? {
        state.withLock { $0.singleReads += 1 }
        try answer()
        return try await base.liveSession(idHash: idHash, at: unixTime)
    }

    func liveSessions(userID: Int64, at unixTime: Int64) async throws -> [(SessionRecord, UserRecord)] {
        state.withLock { $0.heldReaders += 1 }
        defer { state.withLock { $0.heldReaders -= 1 } }
        while state.withLock({ $0.holdUserReads }) { try await Task.sleep(for: .milliseconds(5)) }
        return try await base.liveSessions(userID: userID, at: unixTime)
    }

    func createSession(_ session: SessionRecord) async throws { try await base.createSession(session) }
    func liveSessions(at unixTime: Int64) async throws -> [(SessionRecord, UserRecord)] { try await base.liveSessions(at: unixTime) }
    func liveSessionCount(at unixTime: Int64) async throws -> Int { try await base.liveSessionCount(at: unixTime) }
    func touchSession(idHash: [UInt8], lastActivity: Int64) async throws { try await base.touchSession(idHash: idHash, lastActivity: lastActivity) }
    func touchSessions(_ touches: [(idHash: [UInt8], lastActivity: Int64)]) async throws { try await base.touchSessions(touches) }
    func deleteSession(idHash: [UInt8]) async throws -> Bool { try await base.deleteSession(idHash: idHash) }
    func deleteSession(shortIDPrefix prefix: String) async throws -> Int { try await base.deleteSession(shortIDPrefix: prefix) }
    func deleteSessions(userID: Int64) async throws -> Int { try await base.deleteSessions(userID: userID) }
    func deleteAllSessions() async throws -> Int { try await base.deleteAllSessions() }
    func purgeExpiredSessions(before unixTime: Int64) async throws -> Int { try await base.purgeExpiredSessions(before: unixTime) }
    func latestChangeSequence() async throws -> Int64 { try await base.latestChangeSequence() }
    func changes(after sequence: Int64, limit: Int) async throws -> StoreChanges {
        try answer()
        let refused = state.withLock { state in
            if state.changeLogUnavailable { state.changeLogFailures += 1 }
            return state.changeLogUnavailable
        }
        if refused { throw StoreError(.unavailable, "The change log does not answer (test).") }
        return try await base.changes(after: sequence, limit: limit)
    }
    func pruneChanges(keepingLast count: Int) async throws -> Int { try await base.pruneChanges(keepingLast: count) }
    func addAppPassword(_ record: AppPasswordRecord) async throws -> AppPasswordRecord { try await base.addAppPassword(record) }
    func appPasswords(ofUserID userID: Int64) async throws -> [AppPasswordRecord] { try await base.appPasswords(ofUserID: userID) }
    func appPassword(hash: [UInt8]) async throws -> (AppPasswordRecord, UserRecord)? { try await base.appPassword(hash: hash) }
    func removeAppPassword(userID: Int64, label: String) async throws { try await base.removeAppPassword(userID: userID, label: label) }
    func touchAppPassword(id: Int64, at unixTime: Int64) async throws { try await base.touchAppPassword(id: id, at: unixTime) }
    func rememberBasicLinger(_ record: BasicLingerRecord) async throws -> Bool { try await base.rememberBasicLinger(record) }
    func basicLinger(key: [UInt8], at unixTime: Int64) async throws -> BasicLingerLookup {
        try answer()
        return try await base.basicLinger(key: key, at: unixTime)
    }
    func touchBasicLinger(key: [UInt8], at unixTime: Int64) async throws { try await base.touchBasicLinger(key: key, at: unixTime) }
    func purgeBasicLingers(before unixTime: Int64) async throws -> Int { try await base.purgeBasicLingers(before: unixTime) }
}
