#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One fuzz target: a parser of untrusted input, and the properties its output must have.
struct FuzzTarget: Sendable {
    let name: String
    /// Feeds one input; breaks a property with ``require(_:_:)``, which stops the process.
    let run: @Sendable ([UInt8]) -> Void
}

/// Every target, by the name given in `PORTCULLIS_FUZZ_TARGET` (and its seed corpus folder, Fuzz/corpus/<name>).
let allTargets: [FuzzTarget] = gateTargets + accessTargets + secretTargets + configurationTargets + importTargets

/// The target named by `PORTCULLIS_FUZZ_TARGET`; the process stops, listing the names, when there is none.
let selectedTarget: FuzzTarget = {
    let name = getenv("PORTCULLIS_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = allTargets.first(where: { $0.name == name }) else {
        let names = allTargets.map(\.name).joined(separator: " ")
        printError("Set PORTCULLIS_FUZZ_TARGET to one of: \(names)")
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    if getenv("PORTCULLIS_FUZZ_LIST") != nil {
        print(allTargets.map(\.name).joined(separator: "\n"))
        exit(0)
    }
    _ = selectedTarget
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget.run(bytes)
    return 0
}

/// Stops the process (libFuzzer records the input as a crash) when a property does not hold.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    printError("Property broken at \(file):\(line): \(message())")
    abort()
}

/// Writes a line to standard error.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Input bytes as text (invalid UTF-8 repaired, as a server's string decoding would).
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Reads fixed-size numbers off the front of the input, then leaves the rest.
struct ByteReader {
    private var bytes: ArraySlice<UInt8>
    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    mutating func int64() -> Int64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(bytes.popFirst() ?? 0) }
        return Int64(bitPattern: value)
    }

    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    var rest: [UInt8] { Array(bytes) }
}
