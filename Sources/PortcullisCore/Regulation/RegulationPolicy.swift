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
///
/// Every rule about counts lives here, as pure functions; the store only counts and claims
/// atomically (``admission(name:client:now:)`` before the expensive check, ``banEnd(failuresInWindow:now:)``
/// and ``locks(consecutiveOTPFailures:)`` when a failure is settled).
public struct RegulationPolicy: Sendable, Equatable {
    /// Failures within ``findTime`` that earn a ban (per user name, and per client address).
    public var maxRetries: Int
    /// The window failures are counted in, in seconds.
    public var findTime: Int64
    /// How long a ban lasts, in seconds.
    public var banTime: Int64
    /// Consecutive wrong codes (with the right password) that lock a user; 0 turns the lockout off.
    public var maxOTPFailures: Int
    /// Attempts of one user name, or of one client address, that may be checked at the same time.
    public var maxInFlight: Int
    /// IPv6 clients are counted and banned by this prefix (a /64 is what one subscriber usually holds).
    public var ipv6PrefixLength: Int

    /// How long an attempt may stay unsettled before it counts only as a failure, not as in flight
    /// (an attempt whose server stopped half-way must not block its key for the whole window).
    public static let inFlightExpiry: Int64 = 60

    public init(maxRetries: Int = 5, findTime: Int64 = 600, banTime: Int64 = 900, maxOTPFailures: Int = 10,
                maxInFlight: Int = 1, ipv6PrefixLength: Int = 64) {
        self.maxRetries = maxRetries
        self.findTime = findTime
        self.banTime = banTime
        self.maxOTPFailures = maxOTPFailures
        self.maxInFlight = maxInFlight
        self.ipv6PrefixLength = ipv6PrefixLength
    }

    /// When a key with `failures` failures in the window is banned until, or nil when it is not.
    public func banEnd(failuresInWindow failures: Int, now: Int64) -> Int64? {
        failures >= maxRetries ? (now > Int64.max - banTime ? Int64.max : now + banTime) : nil
    }

    /// Whether this many consecutive wrong codes lock the user.
    public func locks(consecutiveOTPFailures failures: Int) -> Bool {
        maxOTPFailures > 0 && failures >= maxOTPFailures
    }

    /// Whether an attempt counted under a name and an address may be checked now.
    ///
    /// An attempt takes its place in the count before it is checked: it counts as a failure until
    /// it is settled, so the attempts in flight plus the failures in the window never exceed
    /// ``maxRetries``, however many arrive at once.
    /// - Parameters:
    ///   - name: the counts of the user name, or nil when the attempt names none.
    ///   - client: the counts of the client address (or IPv6 prefix).
    public func admission(name: AttemptCounts?, client: AttemptCounts, now: Int64) -> Admission {
        var longestBan: Ban?
        for counts in [name, client].compactMap({ $0 }) {
            if let until = counts.bannedUntil, until > now, until > longestBan?.until ?? .min {
                longestBan = Ban(kind: counts.kind, value: counts.key, createdAt: now, until: until)
            }
        }
        if let longestBan { return .banned(longestBan) }
        for counts in [name, client].compactMap({ $0 }) {
            if counts.inFlight >= maxInFlight || counts.failures + counts.inFlight >= maxRetries {
                return .busy(retryAfter: 1)
            }
        }
        return .admitted
    }
}

/// What the store counted for one key (a user name or a client address) when an attempt asked to start.
public struct AttemptCounts: Sendable, Equatable {
    public var kind: BanKind
    /// The key as stored: the user name's regulation key, or the address (IPv6: its prefix).
    public var key: String
    /// Settled failures within the window.
    public var failures: Int
    /// Attempts admitted and not settled yet (younger than ``RegulationPolicy/inFlightExpiry``).
    public var inFlight: Int
    /// The end of a ban on the key, if one was ever set.
    public var bannedUntil: Int64?

    public init(kind: BanKind, key: String, failures: Int, inFlight: Int, bannedUntil: Int64?) {
        self.kind = kind
        self.key = key
        self.failures = failures
        self.inFlight = inFlight
        self.bannedUntil = bannedUntil
    }
}

/// Whether an attempt may be checked.
public enum Admission: Sendable, Equatable {
    /// Go ahead: the attempt holds a place in the count until it is settled.
    case admitted
    /// A ban is in force on the name or the address.
    case banned(Ban)
    /// Other attempts of the same name or address are being checked; try again after a moment.
    case busy(retryAfter: Int64)
}

/// What the store counts an attempt under.
public struct RegulationKeys: Sendable, Equatable {
    /// The user name's key ("" when the attempt names no user): a known user's name in lowercase, or
    /// for a name that is no user, a keyed pseudonym, so a password typed into the name field is never stored.
    public var name: String
    /// The client address as text; for IPv6, the network of its prefix (`2001:db8:1:2::/64`).
    public var client: String

    public init(name: String, client: String) {
        self.name = name
        self.client = client
    }

    /// The key of a client address under `policy`: IPv4 as is, IPv6 by its prefix.
    public static func clientKey(_ address: IPAddress, policy: RegulationPolicy) -> String {
        guard !address.isIPv4 else { return address.description }
        let length = min(max(policy.ipv6PrefixLength, 1), 128)
        return length == 128 ? address.description : "\(address.masked(to: length))/\(length)"
    }
}

/// How an admitted attempt ended.
public enum AttemptOutcome: Sendable, Equatable {
    /// The login succeeded: the attempt gives its place back and the user's wrong-code count resets.
    case succeeded(userID: Int64)
    /// It failed. `wrongCodeOf` is the user whose right password came with a wrong code (counted
    /// toward the lockout), nil for any other failure.
    case failed(wrongCodeOf: Int64?)
    /// It was never checked (no hashing thread was free): it gives its place back, nothing else changes.
    case abandoned
}

/// What settling a failed attempt started.
public struct Settlement: Sendable, Equatable {
    /// Bans this failure started.
    public var bans: [Ban]
    /// True when this failure locked the user.
    public var locked: Bool

    public init(bans: [Ban] = [], locked: Bool = false) {
        self.bans = bans
        self.locked = locked
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
    public func retryAfter(now: Int64) -> Int64 {
        let (left, overflow) = until.subtractingReportingOverflow(now)
        return overflow ? (until > now ? Int64.max : 1) : max(1, left)
    }
}
