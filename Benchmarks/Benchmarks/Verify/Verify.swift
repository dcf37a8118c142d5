import Benchmark

/// What the benchmarks measure: wall time, CPU time and mallocs per operation.
var verifyConfiguration: Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 1_000_000
    )
}

let benchmarks: @Sendable () -> Void = {
    cookieBenchmarks()
    sessionLookupBenchmarks()
    otpBenchmarks()
    accessBenchmarks()
}
