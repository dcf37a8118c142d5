import Crypto

/// Mobile-OTP (mOTP), kept for users migrated from mod_authn_otp.
///
/// The code is the first `digits` hex digits of MD5(`<unix_time / 10><hex key><pin>`), where the hex
/// key is the secret written in lowercase hex and the PIN is the user's mOTP PIN.
public enum MOTP {
    /// The code of a 10-second step.
    public static func code(secret: [UInt8], pin: String, step: Int64, digits: Int = 6) -> String {
        let input = String(step) + Hex.encode(secret) + pin
        let digest = Hex.encode(Array(Insecure.MD5.hash(data: Array(input.utf8))))
        return String(digest.prefix(max(digits, 0)))
    }

    /// The code valid at `unixTime`.
    public static func code(secret: [UInt8], pin: String, at unixTime: Int64, digits: Int = 6) -> String {
        code(secret: secret, pin: pin, step: TOTP.step(at: unixTime, period: OTPParameters.motpPeriod), digits: digits)
    }
}
