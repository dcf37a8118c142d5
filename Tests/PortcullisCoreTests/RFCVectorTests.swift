import PortcullisCore
import Testing

/// The published test vectors of RFC 4226 (Appendix D) and RFC 6238 (Appendix B).
@Suite struct RFCVectorTests {
    static let seed20 = Array("12345678901234567890".utf8)
    static let seed32 = Array("12345678901234567890123456789012".utf8)
    static let seed64 = Array("1234567890123456789012345678901234567890123456789012345678901234".utf8)

    @Test("RFC 4226 Appendix D", arguments: zip(0..<10, [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489",
    ]))
    func hotpVectors(counter: Int, expected: String) {
        #expect(HOTP.code(secret: Self.seed20, counter: UInt64(counter)) == expected)
    }

    struct TOTPVector: Sendable, CustomTestStringConvertible {
        let time: Int64
        let algorithm: OTPAlgorithm
        let code: String
        var testDescription: String { "\(algorithm) at \(time)" }
    }

    static let totpVectors: [TOTPVector] = {
        let table: [(Int64, String, String, String)] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ]
        return table.flatMap { time, sha1, sha256, sha512 in
            [TOTPVector(time: time, algorithm: .sha1, code: sha1),
             TOTPVector(time: time, algorithm: .sha256, code: sha256),
             TOTPVector(time: time, algorithm: .sha512, code: sha512)]
        }
    }()

    @Test("RFC 6238 Appendix B", arguments: totpVectors)
    func totpVector(vector: TOTPVector) {
        let seed = switch vector.algorithm {
        case .sha1: Self.seed20
        case .sha256: Self.seed32
        case .sha512: Self.seed64
        }
        #expect(TOTP.code(secret: seed, at: vector.time, digits: 8, algorithm: vector.algorithm) == vector.code)
    }

    @Test("RFC 6238 time steps")
    func steps() {
        #expect(TOTP.step(at: 59) == 1)
        #expect(TOTP.step(at: 1_111_111_109) == 0x23523EC)
        #expect(TOTP.step(at: 20_000_000_000) == 0x27BC86AA)
        #expect(TOTP.step(at: 0) == 0)
        #expect(TOTP.step(at: 29) == 0)
        #expect(TOTP.step(at: 30) == 1)
        #expect(TOTP.step(at: 100, period: 7) == 14)
    }

    @Test("longer codes extend shorter ones: the last 8 of 9 and 10 digits are the 8-digit code")
    func longerCodes() {
        for counter in UInt64(0)..<50 {
            let eight = HOTP.code(secret: Self.seed20, counter: counter, digits: 8)
            let nine = HOTP.code(secret: Self.seed20, counter: counter, digits: 9)
            let ten = HOTP.code(secret: Self.seed20, counter: counter, digits: 10)
            #expect(nine.count == 9 && ten.count == 10)
            #expect(nine.hasSuffix(eight) && ten.hasSuffix(eight))
            #expect(ten.hasSuffix(nine))
            // 10 digits show the whole 31-bit value, so it is below 2^31.
            #expect(UInt64(ten)! < 1 << 31)
        }
    }
}
