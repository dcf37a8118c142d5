import Foundation
import Logging
@testable import PortcullisServer
import Testing

@Suite("JSON log lines") struct JSONLogLineTests {
    @Test("timestamps are RFC 3339 in UTC with milliseconds, across leap years and the epoch")
    func timestamps() {
        #expect(JSONLogLine.timestamp(unixSeconds: 0, milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(JSONLogLine.timestamp(unixSeconds: 951_782_400, milliseconds: 7) == "2000-02-29T00:00:00.007Z")
        #expect(JSONLogLine.timestamp(unixSeconds: 1_795_998_602, milliseconds: 123) == "2026-11-30T00:30:02.123Z")
        #expect(JSONLogLine.timestamp(unixSeconds: 4_102_444_799, milliseconds: 999) == "2099-12-31T23:59:59.999Z")
        #expect(JSONLogLine.timestamp(unixSeconds: -1, milliseconds: 0) == "1969-12-31T23:59:59.000Z")
        // Against Foundation's own formatter for a spread of instants.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        for seconds in stride(from: Int64(0), to: 4_000_000_000, by: 86_413_297) {
            let expected = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))).replacingOccurrences(of: "Z", with: ".000Z")
            #expect(JSONLogLine.timestamp(unixSeconds: seconds, milliseconds: 0) == expected)
        }
    }

    @Test("messages and metadata with quotes, backslashes, newlines and control characters stay one valid JSON line")
    func escaping() throws {
        let message = "a \"quoted\" \\ path\nsecond line\u{0}\u{1b}[31m\t\u{2028}\u{85}é"
        let line = JSONLogLine.render(unixSeconds: 0, milliseconds: 0, level: "notice", source: "PortcullisServer", message: message,
                                      metadata: ["request_id": "abc", "message": "forged", "error": .stringConvertible(42)])
        #expect(!line.contains("\n") && !line.contains("\u{0}") && !line.contains("\u{2028}") && !line.contains("\u{85}"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["message"] == message)
        #expect(object["meta_message"] == "forged")
        #expect(object["request_id"] == "abc" && object["error"] == "42")
        #expect(object["level"] == "notice" && object["time"] == "1970-01-01T00:00:00.000Z")
        #expect(line.hasPrefix("{\"time\":\"1970-01-01T00:00:00.000Z\",\"level\":\"notice\",\"source\":\"PortcullisServer\",\"message\":"))
    }
}
