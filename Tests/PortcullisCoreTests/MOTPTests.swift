import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct MOTPTests {
    @Test("mOTP is the first hex digits of MD5(time/10 ‖ hexkey ‖ pin), checked against md5sum")
    func againstMD5Sum() throws {
        var random = SeededGenerator(seed: 7)
        for _ in 0..<20 {
            let secret = SecretGenerator.makeSecret(byteCount: 8, using: &random)
            let pin = String(Int.random(in: 1000...9999, using: &random))
            let time = Int64.random(in: 1_000_000_000...2_000_000_000, using: &random)
            let input = "\(time / 10)\(Hex.encode(secret))\(pin)"
            let digest = try ProcessRunner.run("md5sum", [], input: input).stdout.prefix(32)
            #expect(MOTP.code(secret: secret, pin: pin, at: time) == String(digest.prefix(6)))
            #expect(MOTP.code(secret: secret, pin: pin, at: time, digits: 8) == String(digest.prefix(8)))
        }
    }

    @Test("mOTP verification uses 10 s steps, ignores hex case and refuses replays")
    func verification() {
        let secret: [UInt8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]
        let parameters = OTPParameters(type: .motp)
        #expect(parameters.period == 10)
        let now: Int64 = 1_700_000_005
        let code = MOTP.code(secret: secret, pin: "1234", at: now)
        let verdict = OTPVerifier().verify(code: code.uppercased(), secret: secret, parameters: parameters, state: OTPDeviceState(), at: now, pin: "1234")
        #expect(verdict == .accepted(OTPAcceptance(matched: now / 10, drift: 0)))
        #expect(OTPVerifier().verify(code: code, secret: secret, parameters: parameters, state: OTPDeviceState(lastAccepted: now / 10), at: now, pin: "1234") == .rejected(.replayed))
        // The PIN is part of the code.
        let wrongPIN = OTPVerifier().verify(code: code, secret: secret, parameters: parameters, state: OTPDeviceState(), at: now, pin: "4321")
        #expect(wrongPIN != .accepted(OTPAcceptance(matched: now / 10, drift: 0)))
        // Hex letters are not digits for TOTP.
        #expect(OTPVerifier().verify(code: "abcdef", secret: secret, parameters: OTPParameters(), state: OTPDeviceState(), at: now) == .rejected(.malformed))
    }
}
