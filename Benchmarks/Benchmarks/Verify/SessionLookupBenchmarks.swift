import Benchmark
import PortcullisCore
import PortcullisServer

/// The in-memory session cache: a known session (the common case of every verify), an unknown
/// token (which goes on to the store), and an insert that evicts (a login past the cache size).
func sessionLookupBenchmarks() {
    let users = 10_000
    let sessions = 100_000
    let now: Int64 = 1_800_000_000
    let policy = SessionPolicy(inactivity: 3600, binding: .prefix)
    let client = PackedAddress(IPAddress("192.0.2.10")!)
    var generator = SystemRandomNumberGenerator()
    let cache = SessionCache(capacity: sessions)
    var tokens: [SessionToken] = []
    tokens.reserveCapacity(sessions)
    for index in 0..<sessions {
        let token = SessionToken.generate(using: &generator)
        let user = index % users
        let identity = Identity(user: "user\(user)", groups: ["staff"], name: "User \(user)", email: "user\(user)@example.com")
        let session = CachedSession(identity: identity, userID: Int64(user), lastActivity: now, persistedActivity: now,
                                    expiresAt: now + 86_400, client: client, cookieDomain: "example.com", idHash: token.storageHash, level: .passwordAndCode)
        _ = cache.insert(session, token: token)
        tokens.append(token)
    }
    let strangers = (0..<1_024).map { _ in SessionToken.generate(using: &generator) }

    Benchmark("session cache: known session (100 000 cached)", configuration: verifyConfiguration) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(cache.use(tokens[index], now: now, client: client, cookieDomain: "example.com", policy: policy))
            index = (index &+ 7919) % sessions
        }
    }

    Benchmark("session cache: unknown token", configuration: verifyConfiguration) { benchmark in
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(cache.use(strangers[index], now: now, client: client, cookieDomain: "example.com", policy: policy))
            index = (index + 1) & 1_023
        }
    }

    Benchmark("session cache: insert past capacity (evicts one)", configuration: verifyConfiguration) { benchmark in
        let full = SessionCache(capacity: 1_000)
        let identity = Identity(user: "alice", groups: [], name: "Alice", email: "")
        var generator = SystemRandomNumberGenerator()
        let fresh = (0..<benchmark.scaledIterations.count).map { _ in SessionToken.generate(using: &generator) }
        benchmark.startMeasurement()
        for token in fresh {
            let session = CachedSession(identity: identity, userID: 1, lastActivity: now, persistedActivity: now,
                                        expiresAt: now + 86_400, client: client, cookieDomain: "example.com", idHash: token.storageHash, level: .passwordAndCode)
            blackHole(full.insert(session, token: token))
        }
    }
}
