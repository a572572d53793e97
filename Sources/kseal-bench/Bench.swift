// kseal-bench: per-operation cost and throughput of the crypto backends. A benchmark, not a test:
// run it by hand or through Benchmarks/crypto.sh, which also runs it inside user-mode-linux and
// counts syscalls per operation with strace.
//
//   kseal-bench [--backend all|kernel|userspace] [--sizes 4096,65536,max] [--seconds S]
//   kseal-bench --backend kernel --op seal|open|sha256 --size N --count N   (fixed work, for strace)
//   kseal-bench --op ed25519 [--seconds S]   (signing and verifying one archive's signature message, Ed25519 and P-256)
//   kseal-bench --op scrypt [--count N]      (a passphrase slot's scrypt at N = 2^14 ... 2^18, r = 8, p = 1)
import Foundation
import KsealCrypto

struct Options {
    var backends: [BackendPreference] = [.userspace, .kernel]
    var sizes: [String] = ["4096", "65536", "max"]
    var seconds = 1.0
    var op: String?
    var count = 1000

    init(_ args: [String]) {
        var i = 0
        func value() -> String {
            i += 1
            guard i < args.count else { fatalError("missing value for \(args[i - 1])") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--backend":
                let v = value()
                backends = v == "all" ? [.userspace, .kernel] : [BackendPreference(rawValue: v)!]
            case "--sizes": sizes = value().split(separator: ",").map(String.init)
            case "--size": sizes = [value()]
            case "--seconds": seconds = Double(value())!
            case "--op": op = value()
            case "--count": count = Int(value())!
            default: fatalError("unknown argument \(args[i])")
            }
            i += 1
        }
    }
}

@main
enum Bench {
    static let options = Options(Array(CommandLine.arguments.dropFirst()))
    static let key = [UInt8](repeating: 0x42, count: 32)
    static let aad = [UInt8](repeating: 0x17, count: 64)

    /// Runs `body` for `seconds`, or exactly `fixedCount` times; with a fixed count the clock is read
    /// only before and after, so that strace counts the operations' syscalls alone (a kernel
    /// without a vDSO, such as user-mode-linux, makes every clock read a syscall).
    static func measure(seconds: Double, fixedCount: Int?, _ body: (Int) throws -> Void) rethrows -> (ops: Int, elapsed: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        if let fixedCount {
            for i in 0..<fixedCount { try body(i) }
            return (fixedCount, elapsed())
        }
        var ops = 0
        while true {
            try body(ops)
            ops += 1
            if elapsed() >= seconds { return (ops, elapsed()) }
        }
    }

    static func main() throws {
        if options.op == "ed25519" { return try signatures() }
        if options.op == "scrypt" { return try scrypt() }
        print("backend    op      size        µs/op      MB/s")
        for preference in options.backends {
            let selection: BackendSelection
            do { selection = try CryptoBackends.select(preference) } catch {
                print("\(preference.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) unavailable: \(error)")
                continue
            }
            let backend = selection.backend
            let aead = try backend.aes256GCM(key: Self.key).makeContext()
            let sha = try backend.makeSHA256()
            // Without a kernel, "max" is what default socket buffers allow (212992, less a page and the tag).
            let kernelMax = (try? CryptoBackends.select(.kernel))
                .flatMap { try? $0.backend.aes256GCM(key: Self.key).makeContext().maxMessageSize } ?? (212_992 - 4096 - 16)
            for sizeName in options.sizes {
                let size = sizeName == "max" ? kernelMax - Self.aad.count : Int(sizeName)!
                let plaintext = [UInt8](repeating: 0xA5, count: size)
                var nonce = [UInt8](repeating: 0, count: 12)
                var sealed = [UInt8](repeating: 0, count: size + 16)
                var opened = [UInt8](repeating: 0, count: size)
                var digest = [UInt8](repeating: 0, count: 32)
                let ops = options.op.map { [$0] } ?? ["seal", "open", "sha256"]
                for op in ops {
                    if op == "open" {
                    // The open benchmark opens, again and again, the message sealed under the all-zero nonce.
                    _ = try plaintext.withUnsafeBytes { p in try [UInt8](repeating: 0, count: 12).withUnsafeBytes { n in try Self.aad.withUnsafeBytes { a in
                        try sealed.withUnsafeMutableBytes { try aead.seal(p, nonce: n, aad: a, into: $0) } } } }
                }
                    let fixed = options.op == nil ? nil : options.count
                    let result = try measure(seconds: options.seconds, fixedCount: fixed) { i in
                        switch op {
                        case "seal":
                            nonce[0] = UInt8(truncatingIfNeeded: i); nonce[1] = UInt8(truncatingIfNeeded: i >> 8); nonce[2] = UInt8(truncatingIfNeeded: i >> 16)
                            _ = try plaintext.withUnsafeBytes { p in try nonce.withUnsafeBytes { n in try Self.aad.withUnsafeBytes { a in
                                try sealed.withUnsafeMutableBytes { try aead.seal(p, nonce: n, aad: a, into: $0) } } } }
                        case "open":
                            _ = try sealed.withUnsafeBytes { s in try [UInt8](repeating: 0, count: 12).withUnsafeBytes { n in try Self.aad.withUnsafeBytes { a in
                                try opened.withUnsafeMutableBytes { try aead.open(s, nonce: n, aad: a, into: $0) } } } }
                        default:
                            try plaintext.withUnsafeBytes { p in try digest.withUnsafeMutableBytes { try sha.digest(p, into: $0) } }
                        }
                    }
                    let perOp = result.elapsed / Double(result.ops) * 1e6
                    let rate = Double(size) * Double(result.ops) / result.elapsed / 1e6
                    print(pad(backend.kind.rawValue, 10), pad(op, 7), pad(String(size), 9), String(format: "%9.1f %9.1f", perOp, rate))
                }
            }
        }
    }
}

func pad(_ s: String, _ width: Int) -> String { s.padding(toLength: max(width, s.count), withPad: " ", startingAt: 0) }

extension Bench {
    /// What a signature costs: sign and verify of an archive's 84-byte signature message.
    static func signatures() throws {
        let key = try Ed25519.PrivateKey(seed: [UInt8](repeating: 7, count: 32))
        let message = [UInt8](repeating: 0x5A, count: 84), publicKey = key.publicKey
        let signature = try key.sign(message)
        print("op              µs/op")
        let signing = try measure(seconds: options.seconds, fixedCount: nil) { _ in _ = try key.sign(message) }
        print(pad("ed25519 sign", 15), String(format: "%6.1f", signing.elapsed / Double(signing.ops) * 1e6))
        let verifying = try measure(seconds: options.seconds, fixedCount: nil) { _ in let valid = try Ed25519.isValid(signature: signature, of: message, publicKey: publicKey); precondition(valid) }
        print(pad("ed25519 verify", 15), String(format: "%6.1f", verifying.elapsed / Double(verifying.ops) * 1e6))
        let p256 = ECDSAP256.PrivateKey.generate()
        let p256Signature = try p256.sign(message), p256Public = p256.publicKey
        let p256Signing = try measure(seconds: options.seconds, fixedCount: nil) { _ in _ = try p256.sign(message) }
        print(pad("p256 sign", 15), String(format: "%6.1f", p256Signing.elapsed / Double(p256Signing.ops) * 1e6))
        let p256Verifying = measure(seconds: options.seconds, fixedCount: nil) { _ in
            precondition(ECDSAP256.isValid(signature: p256Signature, of: message, publicKey: p256Public))
        }
        print(pad("p256 verify", 15), String(format: "%6.1f", p256Verifying.elapsed / Double(p256Verifying.ops) * 1e6))
    }
}

extension Bench {
    /// What opening a passphrase slot costs at each N (r = 8, p = 1; kseal writes N = 2^16):
    /// as this build derives it (swift-crypto, or Swift in the kernel-only build), and in Swift
    /// on the chosen backend's HMAC.
    static func scrypt() throws {
        let selection = try CryptoBackends.select(options.backends.count == 1 ? options.backends[0] : .auto)
        let backend = selection.backend
        print("log2N  memory MiB   ms/derivation   ms in Swift (HMAC: \(selection.summary))")
        let passphrase = Array("correct horse".utf8), salt = [UInt8](repeating: 1, count: 72)
        for log2N in 14...18 {
            let built = try measure(seconds: 0, fixedCount: min(options.count, 5)) { _ in
                _ = try Scrypt.deriveKey(passphrase: passphrase, salt: salt, log2N: log2N, r: 8, p: 1, backend: backend)
            }
            let swift = try measure(seconds: 0, fixedCount: min(options.count, 5)) { _ in
                _ = try Scrypt.deriveKeyInSwift(passphrase: passphrase, salt: salt, log2N: log2N, r: 8, p: 1, backend: backend)
            }
            print(pad(String(log2N), 6), pad(String(Scrypt.memory(log2N: log2N, r: 8) >> 20), 12),
                  String(format: "%8.1f        %8.1f", built.elapsed / Double(built.ops) * 1e3, swift.elapsed / Double(swift.ops) * 1e3))
        }
    }
}
