/// The one error type of PortcullisStore: what went wrong with stored data, in words that say how to fix it.
public struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable identifier of the kind of error.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// A user or device with that name or label exists already.
        public static let duplicate = Code(name: "duplicate")
        /// No user or device has that name or label.
        public static let notFound = Code(name: "not_found")
        /// The database file cannot be opened or read.
        public static let unreadable = Code(name: "unreadable")
        /// Another process holds the database's write lock for too long.
        public static let locked = Code(name: "locked")
        /// The database was written by a newer version, or a migration failed.
        public static let schema = Code(name: "schema")
        /// The storage key is missing, malformed, or not the one the data was encrypted with.
        public static let storageKey = Code(name: "storage_key")
        /// A value given to the store is not acceptable (too long, empty, malformed).
        public static let invalidInput = Code(name: "invalid_input")
        /// The change would leave the data in a state that is not allowed (a user without a device).
        public static let conflict = Code(name: "conflict")
        /// Too much work is queued (password checks); try again after a moment.
        public static let busy = Code(name: "busy")
        /// The database server cannot be reached (stopped, restarting, or the network between);
        /// the same request may work after a moment.
        public static let unavailable = Code(name: "unavailable")
        /// Any other database failure.
        public static let database = Code(name: "database")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
