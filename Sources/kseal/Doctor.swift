#if canImport(Glibc)
import Glibc
#endif
import AFAlg
import ArgumentParser
import KsealCrypto

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report whether the kernel serves kseal's algorithms through AF_ALG, with which drivers, and which backend would run."
    )

    @Option(name: .long, help: ArgumentHelp("The backend whose choice to report: auto, kernel or userspace; with kernel, exit 4 when it is unavailable.", valueName: "backend"))
    var crypto: BackendPreference = .auto

    func run() throws {
        try Failure.guarding { try report() }
    }

    private func report() throws {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        print("kernel: Linux \(release)")
        print("af_alg_restrict: \(AFAlgAvailability.restrictLevel().map(String.init) ?? "absent (kernel before 7.3)")")
        for algorithm in KernelAlgorithm.all {
            let label = algorithm.name + String(repeating: " ", count: max(0, 13 - algorithm.name.count))
            if let problem = AFAlgAvailability.check(type: algorithm.type, algorithm: algorithm.name) {
                print("\(label) AF_ALG: no    \(problem.reason)")
            } else if let driver = DriverReport.lookup(algorithm.name) {
                let hardware = driver.isHardware.map { $0 ? "yes" : "no" } ?? "unknown"
                print("\(label) AF_ALG: yes   driver \(driver.driver), priority \(driver.priority), hardware offload: \(hardware) (from \(driver.source))")
            } else {
                print("\(label) AF_ALG: yes   driver not listed by the kernel")
            }
        }
        switch KernelKeyring.setKeyBySerialSupport() {
        case .supported: print("keyring keys: yes (ALG_SET_KEY_BY_KEY_SERIAL: AF_ALG can be keyed from a kernel keyring key)")
        case .unsupported(let why): print("keyring keys: no (\(why))")
        case .unknown(let why): print("keyring keys: unknown (\(why))")
        }
        let selection = try CryptoBackends.select(crypto)
        if let context = try? selection.backend.aes256GCM(key: [UInt8](repeating: 0, count: 32)).makeContext(), selection.backend.kind == .kernel {
            print("AEAD limit: \(context.maxMessageSize) bytes of AAD + data per AF_ALG operation")
        }
        print("backend (--crypto \(crypto.rawValue)): \(selection.reason)")
    }
}
