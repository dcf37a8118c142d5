/// Reads mod_authn_otp's users file: one token per line,
/// `TYPE USER PIN HEXKEY [OFFSET [FAILS] [LASTOTP TIMESTAMP [IP]]]`.
///
/// TYPE is `HOTP/E`, `HOTP/T30`, `HOTP/T60/8`, `MOTP/T10/6` (E = counter, Tn = n-second steps, the
/// last part the digits), or the legacy `E` and `T`. PIN `-` means none, `+` a password from an
/// htpasswd file, anything else is the password itself. OFFSET is the next counter (counter tokens)
/// or the step drift (time tokens). TIMESTAMP is local time `YYYY-MM-DDTHH:MM:SSL`, read as UTC.
public enum ModAuthnOTPImporter {
    /// - Parameters:
    ///   - text: the users file.
    ///   - pinHashes: user name → hash from the `--pins-htpasswd` file, for `+` PINs.
    public static func plan(usersFile text: String, pinHashes: [String: String] = [:]) -> ImportPlan {
        var plan = ImportPlan()
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingASCIIWhitespace()
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let location = "line \(number + 1)"
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 4 else {
                plan.skipped.append(.init(location: location, reason: "has \(fields.count) fields; a token line has TYPE USER PIN HEXKEY at least"))
                continue
            }
            let user = fields[1]
            guard let type = tokenType(fields[0]) else {
                plan.skipped.append(.init(location: location, reason: "user \(user): unknown token type '\(fields[0])' (known: HOTP/E, HOTP/T30, HOTP/T60/8, MOTP/T10/6, E, T)"))
                continue
            }
            let lengths = ImportPlan.Device.allowedSecretBytes(for: type.type)
            guard let secret = try? Hex.decode(fields[3]), lengths.contains(secret.count) else {
                plan.skipped.append(.init(location: location, reason: "user \(user): the key is not hex of \(lengths.lowerBound) to \(lengths.upperBound) bytes"))
                continue
            }
            let rest = Array(fields.dropFirst(4))
            guard let offset = Int64(rest.first ?? "0") else {
                plan.skipped.append(.init(location: location, reason: "user \(user): the offset '\(rest[0])' is not a whole number"))
                continue
            }
            let timestampIndex = rest.firstIndex(where: { parseTimestamp($0) != nil })
            let failures = (timestampIndex.map { $0 >= 3 } ?? (rest.count >= 2)) ? Int(rest[1]) ?? 0 : 0
            let lastUsed = timestampIndex.flatMap { parseTimestamp(rest[$0]) }
            if let problem = outOfBounds(type: type.type, offset: offset, failures: failures) {
                plan.skipped.append(.init(location: location, reason: "user \(user): \(problem)"))
                continue
            }

            var passwordHash: String?
            var password: String?
            var pin: String?
            switch fields[2] {
            case "-": break
            case "+":
                guard let hash = pinHashes[user] else {
                    plan.skipped.append(.init(location: location, reason: "user \(user): PIN '+' needs the user's hash from --pins-htpasswd, and there is none"))
                    continue
                }
                passwordHash = hash
            default:
                if type.type == .motp { pin = fields[2] } else { password = fields[2] }
            }
            if type.type == .motp, pin == nil {
                plan.skipped.append(.init(location: location, reason: "user \(user): an mOTP token needs its PIN in the file"))
                continue
            }
            var state = OTPDeviceState()
            switch type.type {
            case .hotp: state.lastAccepted = offset - 1
            case .totp, .motp:
                state.drift = Int(offset)
                // The step of the last accepted code, so it cannot be used again here.
                if let lastUsed { state.lastAccepted = lastUsed / Int64(type.period) + Int64(offset) }
            }
            let device = ImportPlan.Device(label: "mod-authn-otp", parameters: type, secret: secret, pin: pin, state: state, lastUsedAt: lastUsed)
            plan.add(device, to: user, passwordHash: passwordHash, password: password, otpFailures: failures)
        }
        return plan
    }

    /// The most consecutive wrong codes carried over.
    static let maximumFailures = 1_000_000

    /// Why the line's numbers cannot be taken in, or nil: a counter offset is 0 to
    /// ``OTPDeviceState/maximumCounter``, a time offset (drift) at most ``OTPDeviceState/maximumDrift``
    /// steps either way, a failure count 0 to ``maximumFailures``.
    static func outOfBounds(type: OTPType, offset: Int64, failures: Int) -> String? {
        switch type {
        case .hotp where !(0...OTPDeviceState.maximumCounter).contains(offset):
            return "the counter offset \(offset) is not 0 to \(OTPDeviceState.maximumCounter)"
        case .totp where !(-Int64(OTPDeviceState.maximumDrift)...Int64(OTPDeviceState.maximumDrift)).contains(offset),
             .motp where !(-Int64(OTPDeviceState.maximumDrift)...Int64(OTPDeviceState.maximumDrift)).contains(offset):
            return "the time offset \(offset) is more than \(OTPDeviceState.maximumDrift) steps either way"
        default:
            break
        }
        guard (0...maximumFailures).contains(failures) else {
            return "the failure count \(failures) is not 0 to \(maximumFailures)"
        }
        return nil
    }

    /// `HOTP/E`, `HOTP/T30`, `HOTP/T60/8`, `MOTP/T10/6`, `E`, `T` as OTP parameters.
    static func tokenType(_ text: String) -> OTPParameters? {
        let parts = text.uppercased().split(separator: "/").map(String.init)
        guard (1...3).contains(parts.count) else { return nil }
        switch parts.count == 1 ? "HOTP" : parts[0] {
        case "HOTP", "MOTP": break
        default: return nil
        }
        let isMOTP = parts[0] == "MOTP"
        let timing = parts.count == 1 ? parts[0] : parts[1]
        let digits = parts.count >= 3 ? Int(parts[2]) : (isMOTP ? 6 : 6)
        guard let digits, OTPParameters.allowedDigits.contains(digits) else { return nil }
        if timing == "E" {
            guard !isMOTP else { return nil }
            return OTPParameters(type: .hotp, digits: digits)
        }
        guard timing.hasPrefix("T") else { return nil }
        let period = timing == "T" ? 30 : Int(timing.dropFirst())
        guard let period, (1...OTPParameters.maximumPeriod).contains(period) else { return nil }
        return isMOTP ? OTPParameters(type: .motp, digits: digits, period: period) : OTPParameters(type: .totp, digits: digits, period: period)
    }

    /// `2009-06-12T17:52:32L` as seconds since 1970 (read as UTC).
    static func parseTimestamp(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[19] == UInt8(ascii: "L"), bytes[10] == UInt8(ascii: "T") else { return nil }
        func number(_ range: Range<Int>) -> Int64? { Int64(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + hour * 3600 + minute * 60 + second
    }
}
