/// The user name and password of an `Authorization: Basic` header (RFC 7617).
///
/// For Portcullis the password is the user's password followed by the current code
/// (mod_authn_otp's convention), or an app password alone.
///
/// ```swift
/// let credentials = BasicCredentials(header: "Basic YWxpY2U6czNjcmV0Mjg3MDgy")  // alice, "s3cret287082"
/// credentials?.splits(codeLengths: [6])  // [("s3cret", "287082")]
/// ```
public struct BasicCredentials: Sendable, Equatable {
    public let user: String
    public let password: String

    /// The longest header read.
    public static let maximumHeaderLength = 4096

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// Reads an `Authorization` header value; nil unless it is well-formed Basic with a user name.
    public init?(header: String?) {
        guard let header, header.utf8.count <= Self.maximumHeaderLength else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let bytes = Base64.decode(parts[1].trimmingASCIIWhitespace()),
              let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0
        else { return nil }
        guard let user = String(validating: bytes[..<colon], as: UTF8.self),
              let password = String(validating: bytes[(colon + 1)...], as: UTF8.self),
              !user.contains(where: { $0.isNewline })
        else { return nil }
        self.user = user
        self.password = password
    }

    /// The ways to read the password as a password followed by a code of one of `codeLengths`
    /// digits, longest code first; only splits whose code part is all ASCII digits.
    public func splits(codeLengths: Set<Int>) -> [(password: String, code: String)] {
        let characters = Array(password)
        return codeLengths.sorted(by: >).compactMap { length in
            guard characters.count > length else { return nil }
            let code = characters.suffix(length)
            guard code.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return (String(characters.dropLast(length)), String(code))
        }
    }
}
