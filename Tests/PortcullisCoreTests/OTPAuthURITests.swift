import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct OTPAuthURITests {
    let secret = Array("12345678901234567890".utf8)

    @Test("a TOTP URI is built in the Key URI Format and parses back")
    func totpRoundTrip() throws {
        let uri = OTPAuthURI(issuer: "Home Lab", account: "alice@example.com", secret: secret,
                             parameters: OTPParameters(algorithm: .sha256, digits: 8, period: 60))
        #expect(uri.string == "otpauth://totp/Home%20Lab:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Home%20Lab&algorithm=SHA256&digits=8&period=60")
        #expect(try OTPAuthURI(parsing: uri.string) == uri)
    }

    @Test("Portcullis's own export carries the device label, which parses back; a label that is not printable text is left out")
    func deviceLabel() throws {
        var uri = OTPAuthURI(issuer: "Portcullis", account: "alice", secret: secret)
        uri.deviceLabel = "phone & tablet"
        #expect(uri.string.hasSuffix("&label=phone%20%26%20tablet"))
        #expect(try OTPAuthURI(parsing: uri.string) == uri)
        #expect(try OTPAuthURI(parsing: "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQ&label=a%0Ab").deviceLabel == nil)
        #expect(try OTPAuthURI(parsing: "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQ&label=" + String(repeating: "x", count: 65)).deviceLabel == nil)
        #expect(try OTPAuthURI(parsing: "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQ").deviceLabel == nil)
    }

    @Test("an HOTP URI carries its counter")
    func hotpRoundTrip() throws {
        let uri = OTPAuthURI(issuer: nil, account: "bob", secret: secret, parameters: OTPParameters(type: .hotp), counter: 42)
        #expect(uri.string.hasPrefix("otpauth://hotp/bob?"))
        #expect(uri.string.contains("counter=42"))
        #expect(try OTPAuthURI(parsing: uri.string) == uri)
    }

    @Test("defaults apply when parameters are missing; case of scheme, type and algorithm is ignored")
    func defaults() throws {
        let parsed = try OTPAuthURI(parsing: "OTPAUTH://TOTP/ACME:carol?secret=jbswy3dpehpk3pxp&algorithm=sha512")
        #expect(parsed.issuer == "ACME")
        #expect(parsed.account == "carol")
        #expect(parsed.parameters == OTPParameters(algorithm: .sha512))
        #expect(parsed.secret == (try Base32.decode("JBSWY3DPEHPK3PXP")))
    }

    @Test("random URIs round-trip")
    func randomRoundTrip() throws {
        var random = SeededGenerator(seed: 21)
        let alphabet = Array("abcXYZ019 -_.~@:/?&=%+éß€😀")
        for _ in 0..<200 {
            let account = String((0..<Int.random(in: 1...20, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
                .replacingOccurrences(of: ":", with: "x").trimmingCharacters(in: .whitespaces)
            guard !account.isEmpty else { continue }
            let issuer = Bool.random(using: &random) ? nil : "Issuer" + String(Int.random(in: 0...99, using: &random))
            let type = OTPType.allCases.filter { $0 != .motp }.randomElement(using: &random)!
            let uri = OTPAuthURI(
                issuer: issuer, account: account,
                secret: SecretGenerator.makeSecret(byteCount: Int.random(in: 10...64, using: &random), using: &random),
                parameters: OTPParameters(type: type, algorithm: OTPAlgorithm.allCases.randomElement(using: &random)!,
                                          digits: Int.random(in: 6...10, using: &random), period: Int.random(in: 1...300, using: &random)),
                counter: type == .hotp ? UInt64.random(in: 0...1000, using: &random) : 0
            )
            var expected = uri
            if type == .hotp { expected.parameters.period = 30 }
            #expect(try OTPAuthURI(parsing: uri.string) == expected, "\(uri.string)")
        }
    }

    @Test("malformed URIs are refused with a message naming the part", arguments: [
        ("https://example.com", "otpauth://"),
        ("otpauth://totp", "no type"),
        ("otpauth://motp/a?secret=JBSWY3DP", "type 'motp'"),
        ("otpauth://totp/a", "no secret"),
        ("otpauth://totp/a?secret=", "no secret"),
        ("otpauth://totp/a?secret=JBSW1", "not valid"),
        ("otpauth://totp/a?secret=JBSWY3DP&digits=5", "digits '5'"),
        ("otpauth://totp/a?secret=JBSWY3DP&digits=x", "digits 'x'"),
        ("otpauth://totp/a?secret=JBSWY3DP&period=0", "period '0'"),
        ("otpauth://totp/a?secret=JBSWY3DP&algorithm=MD5", "algorithm 'MD5'"),
        ("otpauth://hotp/a?secret=JBSWY3DP", "counter"),
        ("otpauth://hotp/a?secret=JBSWY3DP&counter=-1", "counter '-1'"),
        ("otpauth://totp/A:b?secret=JBSWY3DP&issuer=B", "two issuers"),
        ("otpauth://totp/?secret=JBSWY3DP", "no account"),
        ("otpauth://totp/a%ZZ?secret=JBSWY3DP", "percent-encoding"),
        ("otpauth://totp/a?secret=JBSWY3DP&secret=JBSWY3DP", "repeats"),
    ])
    func malformed(text: String, fragment: String) {
        do {
            _ = try OTPAuthURI(parsing: text)
            Issue.record("accepted \(text)")
        } catch let error as CoreError {
            #expect(error.code == .invalidOTPAuthURI)
            #expect(error.message.contains(fragment), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
