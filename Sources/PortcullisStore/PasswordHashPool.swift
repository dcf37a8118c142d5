import NIOCore
public import NIOPosix
import Synchronization

/// Threads of their own for password hashing, with a bounded queue.
///
/// A hash takes about 100 ms of CPU on purpose, so a flood of logins must not take the threads the
/// database and the session sync run on (NIO's shared pool): hashing runs here, and past
/// ``capacity`` checks waiting or running a new one is refused at once with
/// ``StoreError/Code/busy`` instead of queueing without limit. Fairness between clients comes from
/// regulation, which admits at most `regulation.max_in_flight` attempts per name and per address,
/// so no single client can hold more than that many places here; and a client that comes back when
/// told to (`priority`) may use ``reserved`` places and is served before everyone waiting.
public final class PasswordHashPool: Sendable {
    private typealias Job = @Sendable (_ run: Bool) -> Void

    private let threads: NIOThreadPool
    private let threadCount: Int
    /// The most checks waiting or running at once.
    public let capacity: Int
    private let inUse = Atomic<Int>(0)
    /// Checks waiting for a thread: those of clients that came back as told first.
    private let waiting = Mutex<(priority: [Job], normal: [Job])>(([], []))
    /// Seconds a check took, on average lately (measured), for telling a refused client when to come back.
    private let averageSeconds: Mutex<Double>

    /// - Parameters:
    ///   - threadCount: hashing threads; by default one fewer than the cores (at least one), so a
    ///     core stays free for the event loops and the store.
    ///   - capacity: checks waiting or running before new ones are refused.
    ///   - secondsPerHash: the first estimate of a check's time, until some are measured.
    public init(threadCount: Int? = nil, capacity: Int = 16, secondsPerHash: Double = 0.1) {
        let count = max(1, threadCount ?? (System.coreCount - 1))
        self.threadCount = count
        threads = Self.threads(count: count)
        self.capacity = max(1, capacity)
        self.averageSeconds = Mutex(secondsPerHash)
    }

    /// A pool on threads the caller owns (and shuts down), for tests that hold a thread on purpose.
    public init(threads: NIOThreadPool, capacity: Int = 16, secondsPerHash: Double = 0.1) {
        self.threads = threads
        self.threadCount = threads.numberOfThreads
        self.capacity = max(1, capacity)
        self.averageSeconds = Mutex(secondsPerHash)
    }

    /// How many checks are waiting or running.
    public var queued: Int { inUse.load(ordering: .relaxed) }

    /// Places beyond ``capacity`` kept for clients that come back when told to (`RetryLine`).
    public var reserved: Int { max(2, capacity / 2) }

    /// Seconds a refused client should wait before trying again: a client that comes back as told
    /// goes before everyone waiting without priority, so it needs only as long as the places held
    /// back for such clients take to come free (measured time per hash × ``reserved`` / threads).
    public var retryAfter: Int64 {
        let perHash = averageSeconds.withLock { $0 }
        return min(60, max(1, Int64((Double(reserved) * perHash / Double(threadCount)).rounded(.up))))
    }

    /// Whether a check would find a place now.
    public func hasRoom(priority: Bool = false) -> Bool {
        queued < capacity + (priority ? reserved : 0)
    }

    /// Takes a place only while fewer than `limit` are taken (never counting past it, even for a
    /// moment, so refused attempts cannot crowd out one that has a place).
    private func takePlace(limit: Int) -> Bool {
        var current = inUse.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = inUse.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Runs `work` on a hashing thread, or throws ``StoreError/Code/busy`` when the queue is full.
    /// - Parameter priority: the client came back when told to: it may use the ``reserved``
    ///   places, and it goes before every check waiting without priority.
    public func run<T: Sendable>(priority: Bool = false, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        guard takePlace(limit: capacity + (priority ? reserved : 0)) else {
            throw StoreError(.busy, "Too many sign-ins are being checked right now; try again in a moment.")
        }
        defer { inUse.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job: Job = { [self] run in
                guard run else { return continuation.resume(throwing: StoreError(.busy, "The password hashing threads have stopped.")) }
                let start = ContinuousClock.now
                let result = Result { try work() }
                let elapsed = start.duration(to: .now)
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                averageSeconds.withLock { $0 = $0 * 0.8 + seconds * 0.2 }
                continuation.resume(with: result)
            }
            waiting.withLock { if priority { $0.priority.append(job) } else { $0.normal.append(job) } }
            // Each submission runs exactly one check: whichever waits first in the better lane.
            threads.submit { [self] state in
                let next = waiting.withLock { lanes -> Job? in
                    if !lanes.priority.isEmpty { return lanes.priority.removeFirst() }
                    return lanes.normal.isEmpty ? nil : lanes.normal.removeFirst()
                }
                next?(state == .active)
            }
        }
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
