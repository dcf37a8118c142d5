public import CoreMetrics
public import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import PortcullisCore
import PortcullisStore
import Prometheus

/// The Prometheus side of the metrics: the registry every metric is made in, and its text.
///
/// ```swift
/// let exporter = MetricsExporter()
/// let store = try await SQLiteStore.open(path: path, metrics: exporter.factory)
/// let server = try await GateServer.make(configuration: configuration, vault: vault, logger: logger,
///                                        metrics: GateMetrics(factory: exporter.factory, version: "1.0"))
/// ```
public final class MetricsExporter: Sendable {
    private let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory that makes metrics in this registry.
    public let factory: any MetricsFactory

    /// Store operations take from well under a millisecond (a read) to seconds (a write waiting for
    /// another process's lock, up to the five-second busy timeout).
    static let storeBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2), .seconds(5),
    ]

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[StoreTimers.label] = Self.storeBuckets
        self.factory = factory
    }

    /// Every metric in the text exposition format.
    public func text() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// The content type of ``text()``.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}

extension GateServer {
    /// Connections the metrics listener keeps open at most (a quarter of them from one address).
    static let metricsConnections = 32

    /// The listener of `metrics.listen`: `GET /metrics` only, apart from the proxy's port so it
    /// need not be exposed. Gauges read from the store are refreshed at most every ``MetricsSampler/storeInterval``.
    public func metricsApplication(exporter: MetricsExporter, host: String, port: Int, logger: Logger,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        let sampler = sampler
        router.get("/metrics") { _, _ -> Response in
            await sampler.sample()
            let body = exporter.text()
            return Response(status: .ok,
                            headers: [.contentType: MetricsExporter.contentType, .cacheControl: "no-store", .contentLength: String(body.count)],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        // Few connections, and the gate's deadlines: a scraper needs one, and this listener must never
        // take the open files the gate's clients need.
        let limits = ConnectionLimits(maxTotal: Self.metricsConnections, maxPerAddress: Self.metricsConnections / 4, resolver: ClientIPResolver(trustedProxies: []))
        return Application(
            router: router,
            server: GateChannel.builder(gate: nil, basic: nil, limits: limits, headTimeout: .seconds(configuration.headTimeout),
                                        idleTimeout: .seconds(configuration.idleTimeout)),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }
}
