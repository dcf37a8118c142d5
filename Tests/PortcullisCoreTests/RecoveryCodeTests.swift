import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite("recovery codes") struct RecoveryCodeTests {
    @Test("codes are 12 Base32 characters (60 bits) in three groups, and do not repeat")
    func format() {
        var random = SystemRandomNumberGenerator()
        let codes = (0..<2000).map { _ in RecoveryCode.generate(using: &random) }
        #expect(codes.allSatisfy { $0.wholeMatch(of: /[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}/) != nil })
        #expect(Set(codes).count == codes.count)
        #expect(RecoveryCode.length * 5 >= 50)
    }

    @Test("typed forms are read alike: case, dashes, spaces, and digits typed for look-alike letters; anything else is no code")
    func normalizing() {
        #expect(RecoveryCode.normalized("7KQF-M2XD-9RTA") == nil, "9 is no Base32 character")
        #expect(RecoveryCode.normalized("7KQF-M2XD-6RTA") == "7KQFM2XD6RTA")
        #expect(RecoveryCode.normalized("7kqf m2xd 6rta") == "7KQFM2XD6RTA")
        #expect(RecoveryCode.normalized("0IB2-AAAA-AAAA") == RecoveryCode.normalized("o1b2-aaaa-aaaa"))
        #expect(RecoveryCode.normalized("08IO-AAAA-AAAA") == "OBIOAAAAAAAA")
        for notACode in ["123456", "12345678", "7KQF-M2XD-6RT", "7KQF-M2XD-6RTAA", "7KQF_M2XD_6RTA", "", String(repeating: "A", count: 100), "ÄKQF-M2XD-6RTA"] {
            #expect(RecoveryCode.normalized(notACode) == nil, "\(notACode)")
        }
    }

    @Test("the stored hash depends on the key and on the code, not on how it was typed")
    func hashing() {
        let key = Array(repeating: UInt8(7), count: 32), other = Array(repeating: UInt8(8), count: 32)
        let code = RecoveryCode.normalized("7kqf-m2xd-6rta")!
        #expect(RecoveryCode.hash(code, key: key) == RecoveryCode.hash(RecoveryCode.normalized("7KQFM2XD6RTA")!, key: key))
        #expect(RecoveryCode.hash(code, key: key) != RecoveryCode.hash(code, key: other))
        #expect(RecoveryCode.hash(code, key: key) != RecoveryCode.hash(RecoveryCode.normalized("7KQF-M2XD-6RTB")!, key: key))
        #expect(RecoveryCode.hash(code, key: key).count == 32)
    }
}
