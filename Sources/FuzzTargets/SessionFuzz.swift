import KaspaP2P

/// The session state machine fed an arbitrary sequence of inputs, as a hostile or broken peer and any timing of
/// the host could produce them. The first byte picks the configuration; then each byte is one input, its high
/// nibble moving the time on (instants only increase, as the driver's clock does). Checked: at most one close,
/// nothing after it, one report of each kind, and a shutdown always ends the session.
enum SessionFuzz {
    typealias Machine = PeerSessionStateMachine<FuzzInstant>

    /// Inputs per run: enough for every phase, few enough to stay fast.
    static let maxInputs = 512

    static let local = LocalVersion(
        network: .mainnet, userAgent: "/fuzz:1/", id: [UInt8](repeating: 0xA5, count: 16))

    /// A valid mainnet Version, so that the fuzzer reaches the phases after the handshake without having to build
    /// one byte by byte (it still can, through the raw message input).
    static let peerVersion = KaspaMessage.with { envelope in
        envelope.version = .with {
            $0.protocolVersion = 7
            $0.network = KaspaNetwork.mainnet.wireName
            $0.id = .init([UInt8](repeating: 0x5A, count: 16))
            $0.userAgent = "/kaspad:1.0.0/"
        }
    }

    static func configuration(_ byte: UInt8) -> PeerSessionConfiguration {
        let after: PeerSessionConfiguration.AfterHandshake
        switch byte % 3 {
        case 0: after = .closeAfterExchange(addressWait: .seconds(4), linger: .seconds(2))
        case 1: after = .stayConnected
        default: after = .stopAtPeerVersion
        }
        return PeerSessionConfiguration(
            versionTimeout: .seconds(5), verackTimeout: .seconds(7), readyTimeout: .seconds(3),
            afterHandshake: after, addressRequestRounds: Int(byte >> 2 & 3), addressRequestSpacing: .milliseconds(250),
            idleTimeout: .seconds(60), closeWait: byte & 0x10 == 0 ? nil : .seconds(1))
    }

    static func run(_ input: [UInt8]) throws(FuzzFailure) {
        var bytes = FuzzBytes(input)
        var now = FuzzInstant(offset: .zero)
        var machine = Machine(local: local, configuration: configuration(bytes.byte()), startedAt: now)
        var observer = Observer()
        try observer.take(machine.start(at: now), machine, after: "start")
        var inputs = 0
        while !bytes.isAtEnd && inputs < maxInputs {
            inputs += 1
            let op = bytes.byte()
            now = now.advanced(by: .milliseconds(250 * Int(op >> 4)))
            let actions: [Machine.Action]
            let name: String
            switch op & 0x0f {
            case 0:
                name = "a raw message"
                let chunk = bytes.chunk(Int(bytes.uint16()))
                if let message = try? KaspaMessage(serializedBytes: chunk) {
                    actions = machine.received(message, at: now)
                } else {
                    actions = machine.streamFailed("undecodable message", at: now)
                }
            case 1: (name, actions) = ("Version", machine.received(peerVersion, at: now))
            case 2: (name, actions) = ("Verack", machine.received(.verack, at: now))
            case 3: (name, actions) = ("Ready", machine.received(.ready, at: now))
            case 4: (name, actions) = ("Ping", machine.received(.ping(nonce: UInt64(bytes.byte())), at: now))
            case 5: (name, actions) = ("RequestAddresses", machine.received(.requestAddresses, at: now))
            case 6:
                let message = addressMessages[Int(bytes.byte()) % addressMessages.count]
                (name, actions) = ("Addresses", machine.received(message, at: now))
            case 7: (name, actions) = ("Reject", machine.received(.reject(reason: "fuzz"), at: now))
            case 8:
                // The timer fires when it was asked to (or now, if that is already past).
                if let timer = observer.timer, timer > now { now = timer }
                (name, actions) = ("the timer", machine.timerFired(at: now))
            case 9: (name, actions) = ("an early timer", machine.timerFired(at: now))
            case 10: (name, actions) = ("release", machine.released(at: now))
            case 11:
                (name, actions) = (
                    "addressDecision", machine.addressDecision(wantsMore: bytes.byte() & 1 == 1, at: now)
                )
            case 12: (name, actions) = ("streamEnded", machine.streamEnded(at: now))
            case 13: (name, actions) = ("shutdown", machine.shutdown(at: now))
            case 14: (name, actions) = ("streamFailed", machine.streamFailed("reset", at: now))
            default: (name, actions) = ("an unknown payload", machine.received(KaspaMessage(), at: now))
            }
            try observer.take(actions, machine, after: name)
        }
        try observer.take(machine.shutdown(at: now), machine, after: "the final shutdown")
        try check(machine.isClosed && observer.closes == 1, "not closed once after shutdown (\(observer.closes))")
        let report = machine.report(at: now)
        try check(report.sessionDuration >= .zero, "negative session duration \(report.sessionDuration)")
    }

    /// Addresses messages of 0, 1, 7 and 300 entries and one over the limit: built once, since building them per
    /// input would make the fuzzer a builder of Addresses. (Exactly the limit, 2,500 valid entries, costs ~10 ms
    /// per message under ASan and is a unit test instead: FieldBoundsTests.)
    static let addressMessages = [0, 1, 7, 300, Machine.maxAddressesPerMessage + 1].map(addresses)

    /// `count` entries, every seventh with a 5-byte IP (invalid), the others valid IPv4 addresses.
    static func addresses(_ count: Int) -> KaspaMessage {
        .with { message in
            message.addresses = .with { list in
                list.addressList = (0..<count).map { index in
                    .with {
                        $0.ip = .init(
                            index % 7 == 6 ? [1, 2, 3, 4, 5] : [198, 51, UInt8(index >> 8), UInt8(index & 0xff)])
                        $0.port = 16111
                    }
                }
            }
        }
    }

    /// What the machine emitted so far, and the properties every action list must keep.
    struct Observer {
        var closes = 0
        var versions = 0
        var completions = 0
        var settlements = 0
        var timer: FuzzInstant?

        mutating func take(_ actions: [Machine.Action], _ machine: Machine, after input: String) throws(FuzzFailure) {
            try check(closes == 0 || actions.isEmpty, "\(input) after the close emitted \(actions)")
            for (index, action) in actions.enumerated() {
                switch action {
                case .close:
                    closes += 1
                    try check(index == actions.count - 1, "\(input): actions after the close: \(actions)")
                case .reportVersion(let version):
                    versions += 1
                    try MessageFuzz.checkVersion(version)
                case .reportHandshakeCompleted: completions += 1
                case .reportSettled: settlements += 1
                case .reportAddresses(let valid, _, _):
                    try check(
                        valid.count <= Machine.maxAddressesPerMessage, "\(input): \(valid.count) addresses reported")
                case .setTimer(let instant): timer = instant
                case .cancelTimer: timer = nil
                case .send, .answerAddressRequest, .finishWriting: break
                }
            }
            try check(machine.isClosed == (closes > 0), "\(input): isClosed \(machine.isClosed) after \(closes) closes")
            try check(
                versions <= 1 && completions <= 1 && settlements <= 1,
                "\(input): reported \(versions) Versions, \(completions) completions, \(settlements) settlements")
        }
    }
}

/// The machine's instants: an offset from the start, with no clock behind it.
struct FuzzInstant: InstantProtocol {
    var offset: Duration

    func advanced(by duration: Duration) -> FuzzInstant { FuzzInstant(offset: offset + duration) }
    func duration(to other: FuzzInstant) -> Duration { other.offset - offset }
    static func < (lhs: FuzzInstant, rhs: FuzzInstant) -> Bool { lhs.offset < rhs.offset }
}
