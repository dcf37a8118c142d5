public import NIOCore
public import NIOPosix
import Synchronization

/// Threads of their own for password hashing, with a bounded queue.
///
/// A hash takes about 100 ms of CPU on purpose, so a flood of logins must not take the threads the
/// database and the session sync run on (NIO's shared pool): hashing runs here, and past
/// ``capacity`` checks waiting or running a new one is refused at once with
/// ``StoreError/Code/busy`` instead of queueing without limit. Fairness between clients comes from
/// regulation, which admits at most `regulation.max_in_flight` attempts per name and per address,
/// so no single client can hold more than that many places here.
public final class PasswordHashPool: Sendable {
    private let threads: NIOThreadPool
    /// The most checks waiting or running at once.
    public let capacity: Int
    private let inUse = Atomic<Int>(0)
    /// Rough seconds per hash, for telling a refused client when to come back.
    public let secondsPerHash: Double

    /// - Parameters:
    ///   - threadCount: hashing threads; by default one fewer than the cores (at least one), so a
    ///     core stays free for the event loops and the store.
    ///   - capacity: checks waiting or running before new ones are refused.
    public init(threadCount: Int? = nil, capacity: Int = 16, secondsPerHash: Double = 0.1) {
        threads = Self.threads(count: max(1, threadCount ?? (System.coreCount - 1)))
        self.capacity = max(1, capacity)
        self.secondsPerHash = secondsPerHash
    }

    /// How many checks are waiting or running.
    public var queued: Int { inUse.load(ordering: .relaxed) }

    /// Seconds a refused client should wait before trying again: long enough for the queue to drain.
    public var retryAfter: Int64 {
        max(1, Int64((Double(capacity) * secondsPerHash / Double(max(1, threads.numberOfThreads))).rounded(.up)))
    }

    /// Places beyond ``capacity`` kept for clients that come back when told to (``RetryLine``).
    public var reserved: Int { max(2, capacity / 2) }

    /// Runs `work` on a hashing thread, or throws ``StoreError/Code/busy`` when the queue is full.
    /// - Parameter priority: the client came back when told to; it may use the ``reserved`` places.
    public func run<T: Sendable>(priority: Bool = false, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let (taken, _) = inUse.wrappingAdd(1, ordering: .acquiringAndReleasing)
        guard taken < capacity + (priority ? reserved : 0) else {
            inUse.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            throw StoreError(.busy, "Too many sign-ins are being checked right now; try again in a moment.")
        }
        defer { inUse.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
        return try await threads.runIfActive(work)
    }

    /// The hashing threads live as long as the process, shared by every pool with the same count
    /// (a server is made once per process; tests make many).
    private static let pools = Mutex<[Int: NIOThreadPool]>([:])

    private static func threads(count: Int) -> NIOThreadPool {
        pools.withLock { pools in
            if let pool = pools[count] { return pool }
            let pool = NIOThreadPool._makePerpetualStartedPool(numberOfThreads: count, threadNamePrefix: "portcullis-hash-")
            pools[count] = pool
            return pool
        }
    }
}
