import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct SecretEncodingTests {
    @Test("RFC 4648 §10 Base32 vectors", arguments: [
        ("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI"),
    ])
    func base32Vectors(plain: String, encoded: String) throws {
        #expect(Base32.encode(Array(plain.utf8)) == encoded)
        if !plain.isEmpty {
            #expect(try Base32.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test("Base32 decoding accepts lowercase, spaces, hyphens and padding")
    func base32Forgiving() throws {
        let expected = Array("foobar".utf8)
        #expect(try Base32.decode("mzxw6ytboi") == expected)
        #expect(try Base32.decode("MZXW 6YTB OI") == expected)
        #expect(try Base32.decode("MZXW-6YTB-OI======") == expected)
    }

    @Test("Base32 errors name the problem", arguments: [
        ("MZXW1YTB", "'1' at position 5"), ("", "empty"), ("MZX", "length"), ("MZ==XW", "after"),
        (String(repeating: "A", count: 2000), "longer"),
    ])
    func base32Errors(input: String, fragment: String) {
        do {
            _ = try Base32.decode(input)
            Issue.record("accepted \(input)")
        } catch let error as CoreError {
            #expect(error.code == .invalidSecret)
            #expect(error.message.contains(fragment), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("Base32 round-trips random bytes of every length")
    func base32RoundTrip() throws {
        var random = SeededGenerator(seed: 11)
        for length in 1...70 {
            let bytes = SecretGenerator.makeSecret(byteCount: length, using: &random)
            #expect(try Base32.decode(Base32.encode(bytes)) == bytes)
            #expect(try Base32.decode(Base32.encode(bytes).lowercased()) == bytes)
        }
    }

    @Test("hex secrets: both cases, spaces; odd length and other characters refused")
    func hex() throws {
        #expect(try Hex.decode("3132 3334") == [0x31, 0x32, 0x33, 0x34])
        #expect(try Hex.decode("DEADbeef") == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(Hex.encode([0x00, 0xFF, 0x0A]) == "00ff0a")
        #expect(throws: CoreError.self) { try Hex.decode("abc") }
        #expect(throws: CoreError.self) { try Hex.decode("zz") }
        #expect(throws: CoreError.self) { try Hex.decode("") }
    }

    @Test("Base64 round-trips and rejects malformed text")
    func base64() {
        var random = SeededGenerator(seed: 12)
        for length in 0...40 {
            let bytes = SecretGenerator.makeSecret(byteCount: length, using: &random)
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.decode(Base64.encode(bytes, padding: false)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm9v!mFy") == nil)
        #expect(Base64.decode("Z") == nil)
    }

    @Test("generated secrets are 160 bits and come from the given source")
    func generation() {
        var first = SeededGenerator(seed: 5), second = SeededGenerator(seed: 5), third = SeededGenerator(seed: 6)
        let a = SecretGenerator.makeSecret(using: &first)
        #expect(a.count == 20)
        #expect(a == SecretGenerator.makeSecret(using: &second))
        #expect(a != SecretGenerator.makeSecret(using: &third))
    }
}
