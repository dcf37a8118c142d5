public import ServiceLifecycle
public import UnixSignals

/// Runs `reload` on each `SIGHUP` (`systemctl reload portcullis`), one at a time, until shutdown.
///
/// Trap `SIGHUP` first thing at start (`await UnixSignalsSequence(trapping: .sighup)`) and hand the
/// sequence here: signals that arrive before the server runs wait in it, where they would
/// otherwise end the process (systemd counts that as a clean exit and does not restart it).
public struct HangupReloader: Service {
    let hangups: UnixSignalsSequence
    let reload: @Sendable () async -> Void

    public init(_ hangups: UnixSignalsSequence, reload: @escaping @Sendable () async -> Void) {
        self.hangups = hangups
        self.reload = reload
    }

    public func run() async throws {
        for await _ in hangups.cancelOnGracefulShutdown() {
            await reload()
        }
    }
}
