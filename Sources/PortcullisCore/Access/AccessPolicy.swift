/// What a rule asks of a request it matches.
public enum AccessPolicy: String, Sendable, CaseIterable, Comparable {
    /// No session needed; verify answers 200 without identity headers.
    case bypass
    /// A password suffices (in `otp_only` mode: a code).
    case oneFactor = "one_factor"
    /// A password and a code (in `otp_only` mode a code alone).
    case twoFactor = "two_factor"
    /// Refused, even when logged in.
    case deny

    /// The second factors a session must have passed: 0, 1 or 2 (deny: none is enough).
    public var requiredLevel: Int {
        switch self {
        case .bypass: 0
        case .oneFactor: 1
        case .twoFactor: 2
        case .deny: Int.max
        }
    }

    public static func < (lhs: AccessPolicy, rhs: AccessPolicy) -> Bool { lhs.requiredLevel < rhs.requiredLevel }
}
