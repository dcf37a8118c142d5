import Foundation
import NIOPosix
import PortcullisStore
import Synchronization
import Testing

/// A job that holds its hashing thread until released.
final class HeldJob: Sendable {
    let released = Atomic<Bool>(false)
    /// The order in which other jobs ran.
    let order = Mutex<[String]>([])
    func run() -> Int {
        while !released.load(ordering: .relaxed) { usleep(1000) }
        return 7
    }
}

@Suite("the password hash pool") struct PasswordHashPoolTests {
    /// A pool on one thread of the test's own: holding the shared hashing thread would stall every other test.
    static func poolOnOwnThread(capacity: Int) -> (NIOThreadPool, PasswordHashPool) {
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        return (threads, PasswordHashPool(threads: threads, capacity: capacity))
    }

    @Test("past its capacity a check is refused at once with `busy`; the place comes back when one ends; a returning client may use the reserve")
    func boundedQueue() async throws {
        let (threads, pool) = Self.poolOnOwnThread(capacity: 2)
        let job = HeldJob()
        async let first = pool.run { job.run() }
        async let second = pool.run { job.run() }
        while pool.queued < 2 { try await Task.sleep(for: .milliseconds(5)) }
        do {
            _ = try await pool.run { 0 }
            Issue.record("a third check was queued past the capacity")
        } catch let error as StoreError {
            #expect(error.code == .busy)
        }
        // A client that came back when told to may use the reserved places.
        async let third = pool.run(priority: true) { job.run() }
        while pool.queued < 3 { try await Task.sleep(for: .milliseconds(5)) }
        job.released.store(true, ordering: .relaxed)
        #expect(try await first == 7)
        #expect(try await second == 7)
        #expect(try await third == 7)
        #expect(pool.queued == 0)
        #expect(try await pool.run { 3 } == 3)
        #expect(pool.retryAfter >= 1)
        try await threads.shutdownGracefully()
    }

    @Test("a client that came back as told is served before the checks waiting without priority")
    func priorityFirst() async throws {
        let (threads, pool) = Self.poolOnOwnThread(capacity: 8)
        let job = HeldJob()
        async let holding = pool.run { job.run() }
        while pool.queued < 1 { try await Task.sleep(for: .milliseconds(5)) }
        async let normal = pool.run { job.order.withLock { $0.append("normal") } }
        while pool.queued < 2 { try await Task.sleep(for: .milliseconds(5)) }
        async let returning = pool.run(priority: true) { job.order.withLock { $0.append("priority") } }
        while pool.queued < 3 { try await Task.sleep(for: .milliseconds(5)) }
        job.released.store(true, ordering: .relaxed)
        _ = try await (holding, normal, returning)
        #expect(job.order.withLock { $0 } == ["priority", "normal"])
        try await threads.shutdownGracefully()
    }
}
