/// The baseline servers `kaspa-bench baseline-server --stack …` can run, each the floor cost of a handshake and of
/// an idle peer one layer further down.
enum BaselineStack: String, CaseIterable, Sendable {
    /// Bare grpc-swift-2 with the sensor's transport settings: gzip accepted, answers uncompressed
    /// (``BaselineServer``).
    case grpcSwift = "grpc-swift-2"
    /// The same answering in gzip to peers that accept it (grpc-swift-2's default): what a zlib deflate state per
    /// stream costs.
    case grpcSwiftGzipResponses = "grpc-swift-2-gzip-responses"
    /// swift-nio-http2 directly, frames read on the connection (``HTTP2FloorServer``).
    case nioHTTP2 = "nio-http2"

    /// Serves until killed.
    func run() async throws {
        switch self {
        case .grpcSwift: try await BaselineServer.run(gzipResponses: false)
        case .grpcSwiftGzipResponses: try await BaselineServer.run(gzipResponses: true)
        case .nioHTTP2: try await HTTP2FloorServer.run()
        }
    }
}
