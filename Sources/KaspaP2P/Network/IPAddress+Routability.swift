extension IPAddress {
    /// Whether the address can be reached across the public Internet, following the reference node's rules
    /// (`utils/src/networking.rs › is_publicly_routable`) and additionally treating IPv4-mapped addresses by their
    /// IPv4 value. False for loopback, unspecified, private, link-local, documentation, CGNAT, benchmarking and
    /// the special IPv6 ranges (ULA, 6to4, Teredo, ORCHID, NAT64, documentation, link-local).
    public var isPubliclyRoutable: Bool {
        switch canonical {
        case .v4(let a, let b, let c, _):
            if a == 0 || a == 10 || a == 127 { return false }  // this network, private, loopback
            if a == 255 { return false }  // broadcast
            if a == 169 && b == 254 { return false }  // link-local
            if a == 172 && (16...31).contains(b) { return false }  // private
            if a == 192 && b == 168 { return false }  // private
            if a == 100 && (64...127).contains(b) { return false }  // carrier-grade NAT
            if a == 198 && (b == 18 || b == 19) { return false }  // benchmarking
            if a == 192 && b == 0 && c == 2 { return false }  // TEST-NET-1
            if a == 198 && b == 51 && c == 100 { return false }  // TEST-NET-2
            if a == 203 && b == 0 && c == 113 { return false }  // TEST-NET-3
            if a >= 224 { return false }  // multicast and reserved
            return true
        case .v6(let bytes):
            if bytes.allSatisfy({ $0 == 0 }) { return false }  // unspecified
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return false }  // loopback
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8 { return false }  // doc
            if bytes[0] == 0x20 && bytes[1] == 0x02 { return false }  // 6to4
            if bytes[0] & 0xfe == 0xfc { return false }  // unique local
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0 && bytes[3] == 0 { return false }  // Teredo
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0 && bytes[3] & 0xf0 == 0x10 { return false }
            if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return false }  // link-local
            if bytes[0] == 0xff { return false }  // multicast
            if bytes[0..<12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] { return false }  // NAT64
            return true
        }
    }
}

extension IPAddress {
    /// True for 127.0.0.0/8 and `::1` (and IPv4-mapped loopback).
    public var isLoopback: Bool {
        switch canonical {
        case .v4(let a, _, _, _): a == 127
        case .v6(let bytes): bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
        }
    }
}
