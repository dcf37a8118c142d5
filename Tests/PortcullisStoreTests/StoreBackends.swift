import Foundation
import PortcullisStore
import PortcullisTestSupport

/// A backend the contract suite runs against. The PostgreSQL backend joins this list.
struct StoreBackend: Sendable, CustomStringConvertible {
    let description: String
    /// Opens a fresh, empty store; a second call with the same handle opens the same data again.
    let open: @Sendable (TemporaryDirectory) async throws -> any Store

    static let sqlite = StoreBackend(description: "SQLite") { directory in
        try await SQLiteStore.open(path: directory.file("store.sqlite3"))
    }

    static let all: [StoreBackend] = [.sqlite]
}

/// Runs `body` with a fresh store and a temporary folder, closing and removing both afterwards.
func withStore<T>(_ backend: StoreBackend, _ body: (any Store, TemporaryDirectory) async throws -> T) async throws -> T {
    let directory = try TemporaryDirectory()
    let store = try await backend.open(directory)
    do {
        let result = try await body(store, directory)
        try? await store.close()
        directory.remove()
        return result
    } catch {
        try? await store.close()
        directory.remove()
        throw error
    }
}
