public import Logging
import Synchronization

/// `log.level`, changed by a reload for every logger at once.
public final class LiveLogLevel: Sendable {
    private let index: Atomic<Int>

    public init(_ level: Logger.Level) {
        index = Atomic(Self.levels.firstIndex(of: level) ?? 2)
    }

    private static let levels = Logger.Level.allCases

    public var level: Logger.Level {
        get { Self.levels[index.load(ordering: .relaxed)] }
        set { index.store(Self.levels.firstIndex(of: newValue) ?? 2, ordering: .relaxed) }
    }
}

/// A log handler whose level is a ``LiveLogLevel``: the text or JSON handler inside writes.
public struct LiveLevelLogHandler: LogHandler {
    private var inner: any LogHandler
    private let live: LiveLogLevel

    public init(_ inner: any LogHandler, level: LiveLogLevel) {
        self.inner = inner
        self.inner.logLevel = .trace
        self.live = level
    }

    /// The live level; setting it on one logger does nothing (a reload sets it for all).
    public var logLevel: Logger.Level {
        get { live.level }
        set {}
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        inner.log(event: event)
    }
}
