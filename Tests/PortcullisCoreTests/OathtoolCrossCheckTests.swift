import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

/// Randomized comparison with Debian's oathtool, in both directions. oathtool only knows 6–8 digits.
@Suite(.enabled(if: ProcessRunner.isAvailable("oathtool"), "needs oathtool (apt-get install oathtool)"))
struct OathtoolCrossCheckTests {
    struct Case: CustomStringConvertible {
        let secret: [UInt8]
        let algorithm: OTPAlgorithm
        let digits: Int
        let period: Int
        let time: Int64
        let counter: UInt64
        var description: String { "\(algorithm) \(digits) digits, \(period)s, t=\(time), c=\(counter), key=\(Hex.encode(secret))" }
    }

    static func cases(count: Int, seed: UInt64) -> [Case] {
        var random = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let algorithm = OTPAlgorithm.allCases.randomElement(using: &random)!
            let length = [10, 16, 20, 32, 64].randomElement(using: &random)!
            return Case(
                secret: SecretGenerator.makeSecret(byteCount: length, using: &random),
                algorithm: algorithm,
                digits: Int.random(in: 6...8, using: &random),
                period: [1, 15, 30, 60, 90, 3600].randomElement(using: &random)!,
                time: Int64.random(in: 0...4_000_000_000, using: &random),
                counter: UInt64.random(in: 0...1_000_000_000, using: &random)
            )
        }
    }

    static func oathtoolMode(_ algorithm: OTPAlgorithm) -> String { "--totp=\(algorithm.uriName.lowercased())" }

    @Test("oathtool's TOTP codes are the ones our verifier accepts, at the same step")
    func oathtoolGeneratesWeVerify() throws {
        for testCase in Self.cases(count: 110, seed: 1) {
            let output = try ProcessRunner.run("oathtool", [
                Self.oathtoolMode(testCase.algorithm), "--digits=\(testCase.digits)",
                "--time-step-size=\(testCase.period)s", "--now=@\(testCase.time)", Hex.encode(testCase.secret),
            ])
            try #require(output.status == 0, "oathtool failed: \(output.stderr)")
            let code = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let parameters = OTPParameters(type: .totp, algorithm: testCase.algorithm, digits: testCase.digits, period: testCase.period)
            let verdict = OTPVerifier(timeSkew: 0).verify(
                code: code, secret: testCase.secret, parameters: parameters, state: OTPDeviceState(), at: testCase.time)
            let step = TOTP.step(at: testCase.time, period: testCase.period)
            #expect(verdict == .accepted(OTPAcceptance(matched: step, drift: 0)), "\(testCase)")
        }
    }

    @Test("our TOTP and HOTP codes validate in oathtool with a window of zero")
    func weGenerateOathtoolValidates() throws {
        for testCase in Self.cases(count: 110, seed: 2) {
            let totp = TOTP.code(secret: testCase.secret, at: testCase.time, period: testCase.period,
                                 digits: testCase.digits, algorithm: testCase.algorithm)
            let totpCheck = try ProcessRunner.run("oathtool", [
                Self.oathtoolMode(testCase.algorithm), "--digits=\(testCase.digits)",
                "--time-step-size=\(testCase.period)s", "--now=@\(testCase.time)", "--window=0",
                Hex.encode(testCase.secret), totp,
            ])
            #expect(totpCheck.status == 0, "TOTP \(totp) refused by oathtool for \(testCase): \(totpCheck.stderr)")

            // oathtool's HOTP is SHA-1 only.
            let hotp = HOTP.code(secret: testCase.secret, counter: testCase.counter, digits: testCase.digits)
            let hotpCheck = try ProcessRunner.run("oathtool", [
                "--hotp", "--digits=\(testCase.digits)", "--counter=\(testCase.counter)", "--window=0",
                Hex.encode(testCase.secret), hotp,
            ])
            #expect(hotpCheck.status == 0, "HOTP \(hotp) refused by oathtool for \(testCase): \(hotpCheck.stderr)")
        }
    }

    @Test("a wrong code is refused by both")
    func wrongCodes() throws {
        for testCase in Self.cases(count: 10, seed: 3) {
            let right = TOTP.code(secret: testCase.secret, at: testCase.time, period: testCase.period, digits: 6, algorithm: testCase.algorithm)
            let wrong = String(right.dropLast()) + String((Int(String(right.last!))! + 1) % 10)
            let check = try ProcessRunner.run("oathtool", [
                Self.oathtoolMode(testCase.algorithm), "--time-step-size=\(testCase.period)s",
                "--now=@\(testCase.time)", "--window=0", Hex.encode(testCase.secret), wrong,
            ])
            #expect(check.status != 0)
            let parameters = OTPParameters(type: .totp, algorithm: testCase.algorithm, digits: 6, period: testCase.period)
            let verdict = OTPVerifier(timeSkew: 0).verify(code: wrong, secret: testCase.secret, parameters: parameters, state: OTPDeviceState(), at: testCase.time)
            #expect(verdict == .rejected(.mismatch))
        }
    }
}
