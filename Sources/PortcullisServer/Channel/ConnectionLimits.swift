import PortcullisCore
import Synchronization

/// How many connections are open, in all and per client address, against `server.max_connections`
/// and `server.max_connections_per_address`; trusted proxies count only towards the total.
final class ConnectionLimits: Sendable {
    let maxTotal: Int
    let maxPerAddress: Int
    let resolver: ClientIPResolver
    private let counts = Mutex(Counts())

    private struct Counts {
        var total = 0
        var perAddress: [PackedAddress: Int] = [:]
    }

    init(maxTotal: Int, maxPerAddress: Int, resolver: ClientIPResolver) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
        self.resolver = resolver
    }

    /// Counts a new connection from `peer` when there is room; false when it must be closed.
    /// A connection admitted must be given back with ``release(_:)``.
    func admit(_ peer: IPAddress) -> Bool {
        let key = resolver.isTrusted(peer) ? nil : PackedAddress(peer)
        return counts.withLock { counts in
            guard counts.total < maxTotal else { return false }
            if let key {
                let current = counts.perAddress[key, default: 0]
                guard current < maxPerAddress else { return false }
                counts.perAddress[key] = current + 1
            }
            counts.total += 1
            return true
        }
    }

    /// Gives back the place of a connection ``admit(_:)`` counted.
    func release(_ peer: IPAddress) {
        let key = resolver.isTrusted(peer) ? nil : PackedAddress(peer)
        counts.withLock { counts in
            counts.total -= 1
            if let key {
                let remaining = counts.perAddress[key, default: 1] - 1
                counts.perAddress[key] = remaining > 0 ? remaining : nil
            }
        }
    }

    /// Open connections now.
    var open: Int { counts.withLock { $0.total } }
}
