public import ServiceLifecycle
import UnixSignals

/// Runs `reload` on each `SIGHUP` (`systemctl reload portcullis`), one at a time, until shutdown.
/// Without it, `SIGHUP` would end the process.
public struct HangupReloader: Service {
    let reload: @Sendable () async -> Void

    public init(reload: @escaping @Sendable () async -> Void) {
        self.reload = reload
    }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            await reload()
        }
    }
}
