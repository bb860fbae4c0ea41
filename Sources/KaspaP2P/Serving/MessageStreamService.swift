public import GRPCCore

/// The gRPC service `protowire.P2P` as peers see it: every `MessageStream` call is one peer, handed to `handler`
/// with a writer for our side of the stream. Response headers go out as soon as the call starts (grpc-swift writes
/// them before running the handler), which is what a dialing node waits for before it sends its Version.
public struct MessageStreamService: Protowire_P2P.SimpleServiceProtocol {
    /// Runs one peer's stream to its end.
    public typealias Handler =
        @Sendable (
            _ inbound: RPCAsyncSequence<KaspaMessage, any Error>,
            _ writer: MessageWriter,
            _ context: ServerContext
        ) async -> Void

    private let handler: Handler

    /// Creates the service.
    public init(handler: @escaping Handler) {
        self.handler = handler
    }

    /// Called by grpc-swift for every `MessageStream` call.
    public func messageStream(
        request: RPCAsyncSequence<KaspaMessage, any Error>,
        response: RPCWriter<KaspaMessage>,
        context: ServerContext
    ) async throws {
        await handler(request, MessageWriter { message in try await response.write(message) }, context)
    }
}
