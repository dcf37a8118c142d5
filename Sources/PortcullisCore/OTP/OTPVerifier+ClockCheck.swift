extension OTPVerifier {
    /// The widest clock error looked for when a code is refused: ten minutes either way.
    public static let clockCheckSpan: Int64 = 600

    /// For a time-based code that was refused: how far off the device's clock looks, in seconds
    /// (positive when the device is ahead), when the code matches a step outside the accepted window
    /// but within ``clockCheckSpan`` of now; nil when it matches none (a wrong code) or for HOTP.
    ///
    /// Only for someone who gave the right password: it tells whether a code was close, so it
    /// must never be said before the password is known to be right.
    public func clockOffset(of code: String, secret: [UInt8], parameters: OTPParameters, at unixTime: Int64, pin: String = "") -> Int64? {
        guard parameters.type != .hotp, parameters.period > 0,
              let typed = Self.normalized(code, digits: parameters.digits, hex: parameters.type == .motp) else { return nil }
        let period = Int64(parameters.period)
        let current = TOTP.step(at: unixTime, period: parameters.period)
        let reach = min(64, max(1, Self.clockCheckSpan / period))
        var best: Int64?
        for distance in 1...reach {
            for step in [current + distance, current - distance] where step >= 0 {
                let produced = Array(Self.code(for: step, secret: secret, parameters: parameters, pin: pin).utf8)
                if ConstantTime.equals(produced, typed), best == nil { best = step - current }
            }
        }
        guard let best, abs(best) > Int64(timeSkew) else { return nil }
        return best * period
    }
}

/// Words for a clock offset: "3 minutes ahead", "40 seconds behind".
public enum ClockOffsetText {
    public static func describe(_ seconds: Int64) -> String {
        let magnitude = seconds.magnitude
        let amount = magnitude < 90 ? "\(magnitude) seconds" : "\((magnitude + 30) / 60) minutes"
        return "\(amount) \(seconds > 0 ? "ahead" : "behind")"
    }
}
