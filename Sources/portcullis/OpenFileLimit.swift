#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open files, which bounds its connections.
enum OpenFileLimit {
    /// Raises the soft limit to the hard one and returns the limit in force afterwards.
    /// Each connection takes one file; the store, logs and listeners a few more.
    static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(resourceOpenFiles, &limit) == 0 else { return Int.max }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resourceOpenFiles, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// What `server.max_connections` needs beside the connections themselves.
    static let reserved = 64

    #if canImport(Glibc)
    private static let resourceOpenFiles = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceOpenFiles = RLIMIT_NOFILE
    #endif
}
