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
}
