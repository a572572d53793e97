import KsealCrypto

/// `doctor`: whether the kernel serves kseal's algorithms, with which drivers, and which backend
/// would run.
public enum DoctorCommand {
    public static func run(crypto: BackendPreference, json: Bool) throws {
        let report = KernelReport.gather()
        // The report is printed even when no backend can run (the kernel-only build on a kernel
        // without AF_ALG), which then ends with status 4.
        let choice = Result { try CryptoBackends.select(crypto) }
        let selection = try? choice.get()
        let limit = selection?.backend.kind == .kernel ? (try? selection?.backend.aes256GCM(key: [UInt8](repeating: 0, count: 32)).makeContext())?.maxMessageSize : nil
        if json {
            // One object either way: the diagnosis matters most when no backend can run. Then
            // `backend` is null, `backend_reason` says why, and the status is the error's.
            var failure: (status: ExitStatus, message: String)?
            if case .failure(let error) = choice { failure = Failure.classify(error) }
            Console.print(JSON.encode(Self.json(report, selection: selection, failure: failure?.message, limit: limit)))
            if let failure {
                Console.error(failure.message)
                throw CommandExit(failure.status)
            }
            return
        }
        Console.print("build: \(Build.name)" + (Build.hasUserspaceBackend ? "" : " (no user-space backend)"))
        Console.print("kernel: Linux \(report.release)")
        Console.print("af_alg_restrict: \(report.restrictLevel.map(String.init) ?? "absent (kernel before 7.3)")")
        for algorithm in report.algorithms {
            let label = algorithm.name + String(repeating: " ", count: max(0, 13 - algorithm.name.count))
            if let problem = algorithm.problem {
                Console.print("\(label) AF_ALG: no    \(problem)")
            } else if let driver = algorithm.driver {
                let hardware = algorithm.isHardware.map { $0 ? "yes" : "no" } ?? "unknown"
                Console.print("\(label) AF_ALG: yes   driver \(driver), priority \(algorithm.priority ?? 0), hardware offload: \(hardware) (from \(algorithm.source ?? "?"))")
            } else {
                Console.print("\(label) AF_ALG: yes   driver not listed by the kernel")
            }
        }
        switch report.keyringKeys {
        case .supported: Console.print("keyring keys: yes (ALG_SET_KEY_BY_KEY_SERIAL: AF_ALG can be keyed from a kernel keyring key)")
        case .unsupported(let why): Console.print("keyring keys: no (\(why))")
        case .unknown(let why): Console.print("keyring keys: unknown (\(why))")
        }
        switch report.kernelSignatures {
        case .supported: Console.print("signatures: ECDSA P-256 checked by the kernel (keyctl pkey_verify)")
        case .unsupported(let why), .unknown(let why):
            Console.print(Build.hasUserspaceBackend ? "signatures: checked in user space (\(why))"
                          : "signatures: none can be checked here (\(why)); this build has no user-space backend")
        }
        if let limit { Console.print("AEAD limit: \(limit) bytes of AAD + data per AF_ALG operation") }
        guard let selection else {
            Console.print("backend (--crypto \(crypto.rawValue)): none")
            _ = try choice.get()
            return
        }
        Console.print("backend (--crypto \(crypto.rawValue)): \(selection.reason)")
    }

    private static func json(_ report: KernelReport, selection: BackendSelection?, failure: String?, limit: Int?) -> JSON.Value {
        let algorithms: [JSON.Value] = report.algorithms.map { algorithm in
            .object([("name", .string(algorithm.name)), ("af_alg", .bool(algorithm.problem == nil)), ("problem", algorithm.problem.map(JSON.Value.string) ?? .null),
                     ("driver", algorithm.driver.map(JSON.Value.string) ?? .null), ("priority", algorithm.priority.map { .int(Int64($0)) } ?? .null),
                     ("hardware", algorithm.isHardware.map(JSON.Value.bool) ?? .null)])
        }
        func state(_ support: KernelReport.KeyringKeys) -> (String, String?) {
            switch support {
            case .supported: ("yes", nil)
            case .unsupported(let why): ("no", why)
            case .unknown(let why): ("unknown", why)
            }
        }
        let keyring = state(report.keyringKeys), signatures = state(report.kernelSignatures)
        return .object([
            ("kernel", .string(report.release)), ("af_alg_restrict", report.restrictLevel.map { .int(Int64($0)) } ?? .null),
            ("algorithms", .array(algorithms)), ("keyring_keys", .string(keyring.0)), ("keyring_keys_reason", keyring.1.map(JSON.Value.string) ?? .null),
            ("kernel_signatures", .string(signatures.0)), ("kernel_signatures_reason", signatures.1.map(JSON.Value.string) ?? .null),
            ("aead_limit", limit.map { .int(Int64($0)) } ?? .null), ("backend", selection.map { .string($0.backend.kind.rawValue) } ?? .null),
            ("backend_reason", .string(selection?.reason ?? failure ?? "")), ("build", .string(Build.name)),
        ])
    }
}
