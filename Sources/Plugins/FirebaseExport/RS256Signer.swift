import COpenSSL

/// An RSA private key that signs with RS256 (RSASSA-PKCS1-v1_5, SHA-256), through OpenSSL's libcrypto.
/// Used by one thread at a time: the host's thread of the instance.
final class RS256Signer {
    private let key: OpaquePointer

    /// Parses a PEM private key; `nil` if it is not an RSA private key.
    init?(pem: String) {
        var pem = pem
        let parsed = pem.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { copenssl_read_private_key($0.baseAddress, $0.count) }
        }
        guard let parsed else { return nil }
        guard copenssl_is_rsa(parsed) != 0 else {
            EVP_PKEY_free(parsed)
            return nil
        }
        key = parsed
    }

    deinit {
        EVP_PKEY_free(key)
    }

    /// The signature of `message`, or `nil` if libcrypto failed.
    func sign(_ message: [UInt8]) -> [UInt8]? {
        var signature = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(key)))
        var length = signature.count
        let ok = signature.withUnsafeMutableBufferPointer { output in
            message.withUnsafeBufferPointer { input in
                copenssl_sign_rs256(key, input.baseAddress, input.count, output.baseAddress, &length)
            }
        }
        guard ok == 1 else { return nil }
        signature.removeLast(signature.count - length)
        return signature
    }
}
