import Foundation

/// Prints values as stable, pretty JSON for `--json` output.
enum JSONOutput {
    static func print(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(value), as: UTF8.self)
        // Foundation prints an empty array as "[\n\n]"; scripts expect "[]".
        Swift.print(text.filter { !$0.isWhitespace } == "[]" ? "[]" : text)
    }
}

/// Formats a Unix time for people (UTC, ISO 8601), or "never".
func formatTime(_ unixTime: Int64?) -> String {
    guard let unixTime else { return "never" }
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(unixTime)))
}
