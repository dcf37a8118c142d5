/// Why a code was not accepted.
public enum OTPRejection: String, Sendable, Equatable {
    /// Not the right number of digits (or hex digits, for mOTP); no HMAC was computed.
    case malformed
    /// No step or counter in the window produces this code.
    case mismatch
    /// The code belongs to a step or counter that was already accepted, or an earlier one.
    case replayed
}

/// A code that was accepted, and the device state to store so it cannot be accepted again.
public struct OTPAcceptance: Sendable, Equatable {
    /// The time step (TOTP, mOTP) or counter (HOTP) that produced the code.
    public let matched: Int64
    /// The device's offset from the expected step or counter, in steps.
    public let drift: Int
    public init(matched: Int64, drift: Int) {
        self.matched = matched
        self.drift = drift
    }

    /// The state to persist: `lastAccepted == matched`, and the new drift.
    public var newState: OTPDeviceState { OTPDeviceState(lastAccepted: matched, drift: drift) }
}

/// The outcome of checking a code.
public enum OTPVerdict: Sendable, Equatable {
    case accepted(OTPAcceptance)
    case rejected(OTPRejection)
}

/// Checks codes against a device, over a window, at most once each.
///
/// Pure: the time, the secret and the device's stored state are arguments, and the caller stores
/// ``OTPAcceptance/newState`` (with a compare-and-set, so two racing logins cannot both win).
///
/// ```swift
/// let verifier = OTPVerifier()
/// switch verifier.verify(code: "287082", secret: secret, parameters: device, state: state, at: now) {
/// case .accepted(let acceptance): try await store.acceptOTP(device, acceptance.newState)
/// case .rejected(let reason): audit(reason)
/// }
/// ```
public struct OTPVerifier: Sendable {
    /// Steps accepted on either side of the expected one for TOTP and mOTP (RFC 6238 §5.2 suggests 1).
    public var timeSkew: Int
    /// How many counters past the expected one an HOTP code may be (RFC 4226 §7.4's look-ahead).
    public var counterLookAhead: Int
    /// The largest recorded drift, in steps, that is applied; keeps a device from walking away over time.
    public var maximumDrift: Int

    /// The largest window accepted, so a configuration cannot turn the check into a brute-force oracle.
    public static let maximumWindow = 100

    public init(timeSkew: Int = 1, counterLookAhead: Int = 4, maximumDrift: Int = 10) {
        self.timeSkew = min(max(timeSkew, 0), Self.maximumWindow)
        self.counterLookAhead = min(max(counterLookAhead, 0), Self.maximumWindow)
        self.maximumDrift = min(max(maximumDrift, 0), Self.maximumWindow)
    }

    /// A window setting within 0...``maximumWindow`` (the properties can be set after `init`).
    private static func bounded(_ value: Int) -> Int { min(max(value, 0), maximumWindow) }

    /// Checks `code` for a device at `unixTime`.
    /// - Parameters:
    ///   - code: what the user typed; surrounding whitespace is ignored.
    ///   - secret: the device's decrypted secret.
    ///   - parameters: the device's type, algorithm, digits and period.
    ///   - state: the device's stored last accepted step or counter and drift.
    ///   - unixTime: now, in seconds since 1970.
    ///   - pin: the user's PIN, for mOTP only.
    public func verify(
        code: String,
        secret: [UInt8],
        parameters: OTPParameters,
        state: OTPDeviceState,
        at unixTime: Int64,
        pin: String = ""
    ) -> OTPVerdict {
        // Stored parameters are checked again: the store could hold anything, and a digit count or
        // period out of range must refuse the code, not trap.
        guard (try? parameters.validate()) != nil else { return .rejected(.mismatch) }
        guard let typed = Self.normalized(code, digits: parameters.digits, hex: parameters.type == .motp) else {
            return .rejected(.malformed)
        }
        // The window is computed with saturating arithmetic and may be empty, so no stored state
        // (a counter at Int64.max, a drift of Int.min) can make it trap.
        let lookAhead = Int64(Self.bounded(counterLookAhead))
        let skew = Int64(Self.bounded(timeSkew))
        let driftBound = Self.bounded(maximumDrift)
        let expected: Int64
        let lowest: Int64
        let highest: Int64
        switch parameters.type {
        case .hotp:
            expected = state.lastAccepted.addingSaturating(1)
            // Counters behind the expected one can only match as replays; they are checked so a
            // replayed code is reported as such. No counter past the maximum is ever accepted.
            lowest = expected.subtractingSaturating(1 + lookAhead)
            highest = min(expected.addingSaturating(lookAhead), OTPDeviceState.maximumCounter)
        case .totp, .motp:
            let current = TOTP.step(at: unixTime, period: parameters.period)
            let drift = Int64(min(max(state.drift, -driftBound), driftBound))
            expected = current
            lowest = current.addingSaturating(drift).subtractingSaturating(skew)
            highest = current.addingSaturating(drift).addingSaturating(skew)
        }

        // Every candidate is computed and compared, so the time taken does not say which one matched.
        var fresh: Int64?
        var replayed = false
        for candidate in stride(from: max(lowest, 0), through: highest, by: 1) {
            let produced = Array(Self.code(for: candidate, secret: secret, parameters: parameters, pin: pin).utf8)
            guard ConstantTime.equals(produced, typed) else { continue }
            if candidate > state.lastAccepted {
                if fresh == nil { fresh = candidate }
            } else {
                replayed = true
            }
        }
        if let fresh {
            return .accepted(OTPAcceptance(matched: fresh, drift: Int(clamping: fresh.subtractingSaturating(expected))))
        }
        return .rejected(replayed ? .replayed : .mismatch)
    }

    /// The code a device shows for a step or counter.
    public static func code(for stepOrCounter: Int64, secret: [UInt8], parameters: OTPParameters, pin: String = "") -> String {
        switch parameters.type {
        case .hotp, .totp:
            HOTP.code(secret: secret, counter: UInt64(bitPattern: stepOrCounter), digits: parameters.digits, algorithm: parameters.algorithm)
        case .motp:
            MOTP.code(secret: secret, pin: pin, step: stepOrCounter, digits: parameters.digits)
        }
    }

    /// The typed code as bytes if it has exactly `digits` decimal (or, for mOTP, hex) digits after
    /// trimming whitespace; otherwise nil. mOTP codes are compared in lowercase.
    static func normalized(_ code: String, digits: Int, hex: Bool) -> [UInt8]? {
        var bytes = Array(code.utf8)
        guard bytes.count <= 64 else { return nil }
        while let first = bytes.first, isWhitespace(first) { bytes.removeFirst() }
        while let last = bytes.last, isWhitespace(last) { bytes.removeLast() }
        guard bytes.count == digits else { return nil }
        for index in bytes.indices {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                continue
            case UInt8(ascii: "a")...UInt8(ascii: "f") where hex:
                continue
            case UInt8(ascii: "A")...UInt8(ascii: "F") where hex:
                bytes[index] += 32
            default:
                return nil
            }
        }
        return bytes
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }
}
