/// `regulation.*`: how many failed logins a user name or a client address gets before a ban, and
/// how many consecutive wrong codes lock a user until an administrator unlocks them.
///
/// The arithmetic, with the defaults: a user name (or address) gets ``maxRetries`` = 5 failures,
/// then a ban of ``banTime`` = 15 minutes, after which the count starts again: at most 20 guesses an
/// hour, 480 a day. A 6-digit code accepted within ±1 step matches 3 of 1 000 000 values, so a
/// day of guessing succeeds with probability at most 480 × 3 / 10⁶ ≈ 0.14 % — and only for someone
/// who already has the password, since the code is only checked with the right password. Those
/// guesses also lock the user after ``maxOTPFailures`` = 10 wrong codes in a row, which caps an
/// attacker with the password at 10 guesses in all (3 × 10⁻⁵) until an administrator unlocks.
public struct RegulationPolicy: Sendable, Equatable {
    /// Failures within ``findTime`` that earn a ban (per user name, and per client address).
    public var maxRetries: Int
    /// The window failures are counted in, in seconds.
    public var findTime: Int64
    /// How long a ban lasts, in seconds.
    public var banTime: Int64
    /// Consecutive wrong codes (with the right password) that lock a user; 0 turns the lockout off.
    public var maxOTPFailures: Int

    public init(maxRetries: Int = 5, findTime: Int64 = 600, banTime: Int64 = 900, maxOTPFailures: Int = 10) {
        self.maxRetries = maxRetries
        self.findTime = findTime
        self.banTime = banTime
        self.maxOTPFailures = maxOTPFailures
    }

    /// When a key with `failures` failures in the window is banned until, or nil when it is not.
    public func banEnd(failuresInWindow failures: Int, now: Int64) -> Int64? {
        failures >= maxRetries ? now + banTime : nil
    }

    /// Whether this many consecutive wrong codes lock the user.
    public func locks(consecutiveOTPFailures failures: Int) -> Bool {
        maxOTPFailures > 0 && failures >= maxOTPFailures
    }
}

/// What a ban applies to.
public enum BanKind: String, Sendable, Codable, CaseIterable {
    /// A user name, as typed (known or not, so a ban does not tell which names exist).
    case user
    /// A client address.
    case ip
}

/// A user name or client address that may not try to log in until ``until``.
public struct Ban: Sendable, Equatable, Codable {
    public var kind: BanKind
    public var value: String
    public var createdAt: Int64
    public var until: Int64

    public init(kind: BanKind, value: String, createdAt: Int64, until: Int64) {
        self.kind = kind
        self.value = value
        self.createdAt = createdAt
        self.until = until
    }

    /// Seconds until the ban ends (for `Retry-After`), at least 1.
    public func retryAfter(now: Int64) -> Int64 { max(1, until - now) }
}
