import PortcullisStore
import Testing

/// Each wait here would last ten minutes if the signal did not end it: the time limit fails the test.
@Suite(.timeLimit(.minutes(1))) struct ChangeSignalTests {
    @Test("a signal ends a wait; one that came while nobody waited ends the next one, once")
    func wakes() async throws {
        let signal = ChangeSignal()
        async let waited: Void = signal.wait(upTo: .seconds(600))
        signal.signal()
        await waited

        signal.signal()
        signal.signal()
        await signal.wait(upTo: .seconds(600))  // the kept signal: at once
        let start = ContinuousClock.now
        await signal.wait(upTo: .milliseconds(200))  // the second one was not kept: the whole time
        #expect(ContinuousClock.now - start >= .milliseconds(200), "two signals before a wait count once")
    }

    @Test("without a signal a wait ends when its time is up; a cancelled wait ends at once")
    func timesOutAndCancels() async {
        let signal = ChangeSignal()
        await signal.wait(upTo: .milliseconds(100))
        let waiter = Task { await signal.wait(upTo: .seconds(600)) }
        waiter.cancel()
        await waiter.value
    }
}
