/// Aggregates the refusals of an already banned key, so a client that keeps knocking cannot flood
/// the log and the audit trail: at most one report per key per ``interval``, carrying how many
/// refusals it stands for.
///
/// A value type: the caller keeps it behind a lock and performs the ``Report`` it returns.
///
/// ```swift
/// if let report = digest.refused(key: "ip:203.0.113.7", now: now) {
///     log("authentication failed ... reason=banned count=\(report.count)")
/// }
/// ```
public struct RefusalDigest: Sendable {
    /// One line to write for a key: the refusals since the last report, this one included.
    public struct Report: Sendable, Equatable {
        public var key: String
        public var count: Int

        public init(key: String, count: Int) {
            self.key = key
            self.count = count
        }
    }

    private struct Window {
        var reportedAt: Int64
        var unreported: Int
    }

    /// The shortest time between two reports of one key, in seconds.
    public let interval: Int64
    /// The most keys tracked; past it, the oldest windows are dropped (their next refusal reports at once).
    public let capacity: Int
    private var windows: [String: Window] = [:]

    public init(interval: Int64 = 60, capacity: Int = 10_000) {
        self.interval = max(1, interval)
        self.capacity = max(1, capacity)
    }

    /// Counts a refusal of `key`; returns the report to write now, if one is due.
    public mutating func refused(key: String, now: Int64) -> Report? {
        if var window = windows[key], now >= window.reportedAt, now - window.reportedAt < interval {
            window.unreported += 1
            windows[key] = window
            return nil
        }
        let count = (windows[key]?.unreported ?? 0) + 1
        if windows[key] == nil, windows.count >= capacity { forgetExpired(now: now) }
        windows[key] = Window(reportedAt: now, unreported: 0)
        return Report(key: key, count: count)
    }

    /// Refusals counted but not reported yet, per key (reported with the key's next refusal).
    public var pending: [String: Int] { windows.filter { $0.value.unreported > 0 }.mapValues(\.unreported) }

    public var trackedKeys: Int { windows.count }

    private mutating func forgetExpired(now: Int64) {
        windows = windows.filter { now >= $0.value.reportedAt && now - $0.value.reportedAt < interval }
        if windows.count >= capacity {
            // Still full of live windows: drop the oldest half; their uncounted refusals are lost, and
            // their next refusal is reported at once.
            let keep = windows.sorted { $0.value.reportedAt > $1.value.reportedAt }.prefix(capacity / 2)
            windows = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
