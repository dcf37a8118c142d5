#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
import Synchronization

/// `log.format: json`: one JSON object per line on standard output, for log collectors.
///
/// ```json
/// {"time":"2026-11-23T01:10:02.123Z","level":"notice","source":"PortcullisServer","message":"authentication failed user=alice client_ip=203.0.113.7 reason=bad_otp","request_id":"9f2c41d07ab3e865"}
/// ```
///
/// `time`, `level`, `source` and `message` come first and always; metadata follows as string
/// fields (a metadata key that would repeat one of these four gets a `meta_` prefix). Messages
/// are the same as in the text format, so a filter written for one matches the other's message.
public struct JSONLogHandler: LogHandler {
    private static let output = Mutex(())

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(metadataProvider: Logger.MetadataProvider? = nil) {
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let given = event.metadata { merged.merge(given) { _, new in new } }
        if let error = event.error, merged["error"] == nil { merged["error"] = .string("\(error)") }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var line = JSONLogLine.render(unixSeconds: Int64(now.tv_sec), milliseconds: Int(now.tv_nsec / 1_000_000), level: event.level.rawValue,
                                      source: event.source, message: event.message.description, metadata: merged)
        line.append("\n")
        // Whole lines, one writer at a time, so lines of concurrent loggers never interleave.
        var bytes = Array(line.utf8)
        Self.output.withLock { _ in bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 { offset += written } else if written < 0, errno == EINTR { continue } else { break }
            }
        } }
    }
}

/// The text of one JSON log line: pure, so its escaping can be tested.
public enum JSONLogLine {
    static let reserved: Set<String> = ["time", "level", "source", "message"]

    public static func render(unixSeconds: Int64, milliseconds: Int, level: String, source: String, message: String, metadata: Logger.Metadata) -> String {
        var out = "{\"time\":\"" + timestamp(unixSeconds: unixSeconds, milliseconds: milliseconds) + "\",\"level\":"
        appendString(level, to: &out)
        out += ",\"source\":"
        appendString(source, to: &out)
        out += ",\"message\":"
        appendString(message, to: &out)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            out += ","
            appendString(reserved.contains(key) ? "meta_" + key : key, to: &out)
            out += ":"
            appendString(value.description, to: &out)
        }
        out += "}"
        return out
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-23T01:10:02.123Z`.
    static func timestamp(unixSeconds: Int64, milliseconds: Int) -> String {
        // Days to a civil date (Howard Hinnant's algorithm), so no C library time zone is consulted.
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondOfDay = unixSeconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)).\(millis)Z"
    }

    /// Appends `text` as a JSON string: quotes, backslashes and every control character escaped.
    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
