import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Another process holding a SQLite database's write lock (`BEGIN EXCLUSIVE`, from Python's
/// sqlite3) until ``release()``.
final class WriteLockHolder {
    private let process = Process()

    /// Returns once the lock is held.
    init(database: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN EXCLUSIVE')
            print('locked', flush=True)
            time.sleep(60)
            """, database]
        let ready = Pipe()
        process.standardOutput = ready
        try process.run()
        _ = ready.fileHandleForReading.availableData  // "locked"
    }

    /// Ends the holder. SIGKILL: seen here, SIGTERM left it sleeping until its end (the test waited for it).
    func release() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
