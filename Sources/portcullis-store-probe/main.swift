// Writes users to a SQLite store one transaction at a time and prints "ok N" after each commit,
// so a test can kill it mid-batch and check that every acknowledged write survived.
import Foundation
import PortcullisStore

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: portcullis-store-probe DATABASE COUNT\n".utf8))
    exit(2)
}
let store = try await SQLiteStore.open(path: arguments[1])
for index in 0..<count {
    let user = try await store.createUser(UserRecord(name: "user\(index)", displayName: String(repeating: "x", count: 200), createdAt: Int64(index)))
    FileHandle.standardOutput.write(Data("ok \(user.name)\n".utf8))
}
try await store.close()
