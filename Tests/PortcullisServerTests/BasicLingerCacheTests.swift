import PortcullisCore
@testable import PortcullisServer
import Testing

/// The keys lingering Basic credentials are remembered under: the header as sent, and the address
/// only when `basic.logout_on_ip_change` asks for it.
@Suite("the lingering Basic credentials") struct BasicLingerCacheTests {
    static let header = "Basic " + Base64.encode(Array("alice:correct horse123456".utf8))
    static let here = IPAddress("203.0.113.7")!
    static let there = IPAddress("2001:db8::7")!

    @Test("one key per header and address; another header, address or cache (process) gives another")
    func keys() throws {
        let cache = BasicLingerCache(settings: BasicAuthConfiguration())
        let key = try #require(cache.key(forHeader: Self.header, client: Self.here))
        #expect(cache.key(forHeader: Self.header, client: Self.here) == key)
        #expect(cache.key(forHeader: Self.header, client: Self.there) != key)
        #expect(cache.key(forHeader: Self.header + " ", client: Self.here) != key)
        #expect(cache.key(forHeader: "basic" + Self.header.dropFirst(5), client: Self.here) != key)
        #expect(BasicLingerCache(settings: BasicAuthConfiguration()).key(forHeader: Self.header, client: Self.here) != key)

        var movable = BasicAuthConfiguration()
        movable.logoutOnIPChange = false
        let anywhere = BasicLingerCache(settings: movable)
        #expect(anywhere.key(forHeader: Self.header, client: Self.here) == anywhere.key(forHeader: Self.header, client: Self.there))
    }

    @Test("a header longer than any credential read has no key")
    func overlong() {
        let cache = BasicLingerCache(settings: BasicAuthConfiguration())
        let longest = "Basic " + String(repeating: "A", count: BasicCredentials.maximumHeaderLength - 6)
        #expect(cache.key(forHeader: longest, client: Self.here) != nil)
        #expect(cache.key(forHeader: longest + "A", client: Self.here) == nil)
    }

    @Test("a key read from digest bytes is the key read from the same bytes in an array")
    func keyFromBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(bytes.withUnsafeBytes { SessionKey($0) } == SessionKey(bytes))
            #expect(bytes.withUnsafeBytes { SessionKey($0) }?.bytes == bytes)
        }
        #expect([UInt8](repeating: 0, count: 31).withUnsafeBytes { SessionKey($0) } == nil)
    }

    static let identity = Identity(user: "alice", groups: [], name: "Alice", email: "")

    @Test("an insert based on a reading older than a removal of its user is refused; another user's removal does not matter; forgetting everything refuses every older reading")
    func staleInserts() throws {
        let cache = BasicLingerCache(settings: BasicAuthConfiguration(), key: Array(repeating: 7, count: 32))
        let key = try #require(cache.key(forHeader: Self.header, client: Self.here))
        let before = cache.generation
        cache.removeAll(ofUser: 2)
        #expect(cache.insert(key, identity: Self.identity, level: .passwordAndCode, userID: 1, appPasswordID: nil, acceptedAt: 100, lastUsed: 100, readSince: before))
        cache.removeAll(ofUser: 1)
        #expect(cache.use(key, now: 101) == nil)
        #expect(!cache.insert(key, identity: Self.identity, level: .passwordAndCode, userID: 1, appPasswordID: nil, acceptedAt: 100, lastUsed: 100, readSince: before),
                "read before alice changed")
        #expect(cache.use(key, now: 101) == nil)
        let after = cache.generation
        #expect(cache.insert(key, identity: Self.identity, level: .passwordAndCode, userID: 1, appPasswordID: nil, acceptedAt: 100, lastUsed: 100, readSince: after))
        cache.removeAll()
        #expect(!cache.insert(key, identity: Self.identity, level: .passwordAndCode, userID: 3, appPasswordID: nil, acceptedAt: 100, lastUsed: 100, readSince: after))
        #expect(cache.count == 0)
    }

    @Test("a shared key gives every instance the same keys; the store's end is kept to; uses are recorded only when someone reads them; no time traps")
    func sharedAndBounded() throws {
        let shared = Array(repeating: UInt8(9), count: 32)
        let one = BasicLingerCache(settings: BasicAuthConfiguration(), key: shared)
        #expect(one.isShared && !BasicLingerCache(settings: BasicAuthConfiguration()).isShared)
        let key = try #require(one.key(forHeader: Self.header, client: Self.here))
        #expect(BasicLingerCache(settings: BasicAuthConfiguration(), key: shared).key(forHeader: Self.header, client: Self.here) == key)

        // Accepted elsewhere with a shorter linger than ours: its end holds here.
        one.insert(key, identity: Self.identity, level: .passwordAndCode, userID: 1, appPasswordID: nil, acceptedAt: 100, expiresAt: 200, lastUsed: 100,
                   readSince: one.generation)
        #expect(one.use(key, now: 199) != nil)
        #expect(one.use(key, now: 200) == nil)

        // Without basic.idle nothing reads a credential's use: none is recorded, except an app password's.
        one.insert(key, identity: Self.identity, level: .passwordAndCode, userID: 1, appPasswordID: nil, acceptedAt: 100, lastUsed: 100,
                   lastRecorded: .min, readSince: one.generation)
        #expect(one.use(key, now: 500)?.recordUse == nil, "and a last record at Int64.min does not trap")
        one.insert(key, identity: Self.identity, level: .password, userID: 1, appPasswordID: 5, acceptedAt: 100, lastUsed: 100, readSince: one.generation)
        #expect(one.use(key, now: 130)?.recordUse == nil)
        #expect(one.use(key, now: 160)?.recordUse == .init(appPasswordID: 5))
        var idle = BasicAuthConfiguration()
        idle.idle = 120
        let watched = BasicLingerCache(settings: idle, key: shared)
        watched.insert(key, identity: Self.identity, level: .passwordAndCode, userID: 1, appPasswordID: nil, acceptedAt: 100, lastUsed: 100,
                       readSince: watched.generation)
        #expect(watched.use(key, now: 129)?.recordUse == nil)
        #expect(watched.use(key, now: 130)?.recordUse == .init(appPasswordID: nil), "every idle / 4")
    }
}
