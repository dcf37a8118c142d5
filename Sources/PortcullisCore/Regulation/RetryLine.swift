/// Places in line for clients told to come back: a login refused because the password-hash queue
/// was full is told `Retry-After: N`; when the same client address comes back after those N seconds
/// (and within ``patience``), its attempt may use places held back for such returns. A flood that
/// ignores `Retry-After`, or rotates addresses, never holds one, so a client that waits as told is
/// served in turn.
///
/// A value type: the caller keeps it behind a lock.
public struct RetryLine: Sendable {
    /// How long after the promised time a place is kept, in seconds.
    public let patience: Int64
    /// The most promises kept; past it, expired ones go first, then half of the rest at random
    /// (not the oldest: a flood of refusals from many addresses must not push out, one by one, the
    /// places of those who were refused before it and are waiting as told).
    public let capacity: Int
    private var promises: [String: ClosedRange<Int64>] = [:]

    public init(patience: Int64 = 30, capacity: Int = 100_000) {
        self.patience = max(1, patience)
        self.capacity = max(1, capacity)
    }

    /// Remembers that `client` was told to come back after `retryAfter` seconds.
    public mutating func promise(_ client: String, retryAfter: Int64, now: Int64) {
        var random = SystemRandomNumberGenerator()
        promise(client, retryAfter: retryAfter, now: now, using: &random)
    }

    /// ``promise(_:retryAfter:now:)`` with the randomness of the eviction given (for tests).
    public mutating func promise(_ client: String, retryAfter: Int64, now: Int64, using random: inout some RandomNumberGenerator) {
        if promises[client] == nil, promises.count >= capacity {
            promises = promises.filter { $0.value.upperBound >= now }
            if promises.count >= capacity {
                for key in promises.keys.shuffled(using: &random).prefix(promises.count / 2 + 1) { promises[key] = nil }
            }
        }
        let from = now > Int64.max - retryAfter ? Int64.max : now + max(0, retryAfter - 1)
        promises[client] = from...(from > Int64.max - patience ? Int64.max : from + patience)
    }

    /// Whether `client` comes back as told; the place is used up either way once claimed.
    public mutating func redeem(_ client: String, now: Int64) -> Bool {
        guard let window = promises[client], now >= window.lowerBound else { return false }
        promises[client] = nil
        return window.contains(now)
    }

    public var count: Int { promises.count }
}
