import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct BasicCredentialsTests {
    static func header(_ text: String) -> String { "Basic " + Data(text.utf8).base64EncodedString() }

    @Test("a Basic header gives the user and everything after the first colon as the password")
    func parsing() {
        #expect(BasicCredentials(header: Self.header("alice:s3cret:with:colons287082")) == BasicCredentials(user: "alice", password: "s3cret:with:colons287082"))
        #expect(BasicCredentials(header: "basic   " + Data("bob:pw".utf8).base64EncodedString()) == BasicCredentials(user: "bob", password: "pw"))
        #expect(BasicCredentials(header: Self.header("ünïcode:pässword")) == BasicCredentials(user: "ünïcode", password: "pässword"))
    }

    @Test("anything else is not Basic credentials", arguments: [
        nil, "", "Basic", "Basic !!!", "Bearer abc", "Basic " + Data("nocolon".utf8).base64EncodedString(),
        "Basic " + Data(":nouser".utf8).base64EncodedString(), "Basic " + String(repeating: "A", count: 5000),
        "Basic " + Data([0x61, 0x3A, 0xFF, 0xFE]).base64EncodedString(),
    ] as [String?])
    func refused(header: String?) {
        #expect(BasicCredentials(header: header) == nil)
    }

    @Test("the password splits into password and code by the devices' digit counts, longest first, digits only")
    func splits() {
        let credentials = BasicCredentials(user: "a", password: "pass1234567890")
        let splits = credentials.splits(codeLengths: [6, 8])
        #expect(splits.map(\.password) == ["pass12", "pass1234"])
        #expect(splits.map(\.code) == ["34567890", "567890"])
        #expect(BasicCredentials(user: "a", password: "password12345a").splits(codeLengths: [6]).isEmpty)
        #expect(BasicCredentials(user: "a", password: "123456").splits(codeLengths: [6]).isEmpty, "a code alone leaves no password")
    }

    @Test("app passwords are 160 random bits in groups of four, hashed without dashes or case")
    func appPasswords() {
        var random = SeededGenerator(seed: 9)
        let password = AppPassword.generate(using: &random)
        #expect(password.text.count == 39)
        #expect(password.text.split(separator: "-").map(\.count) == Array(repeating: 4, count: 8))
        #expect(AppPassword.looksLikeOne(password.text))
        #expect(AppPassword.looksLikeOne(password.text.uppercased().replacing("-", with: "")))
        #expect(!AppPassword.looksLikeOne("correct horse battery staple"))
        #expect(AppPassword.storageHash(of: password.text.uppercased()) == password.storageHash)
        #expect(AppPassword.generate(using: &random) != password)
    }
}
