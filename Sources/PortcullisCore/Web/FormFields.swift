/// The fields of an `application/x-www-form-urlencoded` body or a URL query string.
///
/// Bounded: at most ``maximumFields`` fields are read, and a malformed escape makes the whole input
/// unreadable (nil) rather than half-read.
///
/// ```swift
/// let form = FormFields(parsing: "username=alice&code=123+456&rd=https%3A%2F%2Fapp.example.com%2F")
/// form?["code"]  // "123 456"
/// ```
public struct FormFields: Sendable, Equatable {
    /// Fields in the order they came; a name may repeat.
    public let fields: [(name: String, value: String)]

    /// The most fields read.
    public static let maximumFields = 32

    /// Parses `text`; nil when it has more than ``maximumFields`` fields, a broken `%` escape or bytes
    /// that are not UTF-8.
    public init?(parsing text: some StringProtocol) {
        var fields: [(String, String)] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            guard fields.count < Self.maximumFields else { return nil }
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count > 1 ? parts[1] : "") else { return nil }
            fields.append((name, value))
        }
        self.fields = fields
    }

    /// The first value of the field `name`.
    public subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    public static func == (lhs: FormFields, rhs: FormFields) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    /// `+` is a space, then `%XX` escapes.
    static func decode(_ text: some StringProtocol) -> String? {
        PercentEncoding.decode(String(text.map { $0 == "+" ? " " : $0 }))
    }

    /// Encodes a value for a query string or form body (everything but `A–Z a–z 0–9 - . _ ~` escaped).
    public static func encode(_ value: String) -> String {
        PercentEncoding.encode(value)
    }
}
