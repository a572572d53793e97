import CAFAlg
#if canImport(Glibc)
import Glibc
#endif

/// Which kernel driver serves an algorithm name, as the kernel would pick it (highest priority).
public struct DriverInfo: Sendable, Equatable {
    public let name: String
    public let driver: String
    public let module: String
    public let priority: Int
    /// True for drivers of off-CPU engines (`CRYPTO_ALG_KERN_DRIVER_ONLY`), nil where unknown.
    public let isHardware: Bool?
    /// Where the answer came from: `netlink` (NETLINK_CRYPTO) or `/proc/crypto`.
    public let source: String
}

public enum DriverReport {
    /// Looks up the driver that serves `name`. Template instances such as `gcm(aes)` exist only
    /// after something instantiated them, so bind a transform first.
    /// - Returns: nil when the kernel lists no such algorithm.
    public static func lookup(_ name: String) -> DriverInfo? {
        if let entries = try? netlinkDump(), !entries.isEmpty {
            return best(entries.filter { $0.name == name })
        }
        return procCryptoLookup(name)
    }

    private static func best(_ entries: [DriverInfo]) -> DriverInfo? {
        entries.max { $0.priority < $1.priority }
    }

    /// `CRYPTO_MSG_GETALG` with `NLM_F_DUMP` over `NETLINK_CRYPTO` (module crypto_user). A lookup by
    /// name would return the first registered match, not the one the kernel selects, hence the dump.
    static func netlinkDump() throws -> [DriverInfo] {
        let fd: Int32
        switch system_socket(Int32(AF_NETLINK), Int32(SOCK_RAW.rawValue) | SocketConstants.closeOnExec, Int32(NETLINK_CRYPTO)) {
        case .success(let value): fd = value
        case .failure(let errno): throw AFAlgError.syscall("socket(AF_NETLINK)", errno, context: "NETLINK_CRYPTO unavailable")
        }
        defer { system_close(fd) }

        let headerLength = kseal_nlmsg_hdrlen()
        let requestLength = headerLength + MemoryLayout<crypto_user_alg>.size
        var request = [UInt8](repeating: 0, count: kseal_nlmsg_align(requestLength))
        request.withUnsafeMutableBytes { raw in
            var header = nlmsghdr()
            header.nlmsg_len = UInt32(requestLength)
            header.nlmsg_type = UInt16(CRYPTO_MSG_GETALG)
            header.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_DUMP)
            header.nlmsg_seq = 1
            raw.storeBytes(of: header, as: nlmsghdr.self)
        }
        if case .failure(let errno) = request.withUnsafeBytes({ system_send(fd, $0, 0) }) {
            throw AFAlgError.syscall("send(NETLINK_CRYPTO)", errno, context: "crypto_user dump failed")
        }

        var entries: [DriverInfo] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count: Int
            switch buffer.withUnsafeMutableBytes({ system_recv(fd, $0, 0) }) {
            case .success(let value): count = value
            case .failure(let errno): throw AFAlgError.syscall("recv(NETLINK_CRYPTO)", errno, context: "crypto_user dump failed")
            }
            if count == 0 { return entries }
            let done = try buffer.withUnsafeBytes { try parse(UnsafeRawBufferPointer(rebasing: $0[0..<count]), into: &entries) }
            if done { return entries }
        }
    }

    /// Parses one datagram of netlink messages. Returns true at `NLMSG_DONE`.
    private static func parse(_ data: UnsafeRawBufferPointer, into entries: inout [DriverInfo]) throws -> Bool {
        let headerLength = kseal_nlmsg_hdrlen()
        var offset = 0
        while offset + headerLength <= data.count {
            let header = data.loadUnaligned(fromByteOffset: offset, as: nlmsghdr.self)
            let length = Int(header.nlmsg_len)
            guard length >= headerLength, offset + length <= data.count else { return true }
            switch Int32(header.nlmsg_type) {
            case NLMSG_DONE: return true
            case NLMSG_ERROR:
                let code = data.loadUnaligned(fromByteOffset: offset + headerLength, as: Int32.self)
                throw AFAlgError(.systemCall, "NETLINK_CRYPTO dump refused (\(Errno(rawValue: -code)))", syscall: "recv", errno: Errno(rawValue: -code))
            default:
                let payload = UnsafeRawBufferPointer(rebasing: data[(offset + headerLength)..<(offset + length)])
                if let entry = decodeAlgorithm(payload) { entries.append(entry) }
            }
            offset += kseal_nlmsg_align(length)
        }
        return false
    }

    private static func decodeAlgorithm(_ payload: UnsafeRawBufferPointer) -> DriverInfo? {
        let size = MemoryLayout<crypto_user_alg>.size
        guard payload.count >= size else { return nil }
        let alg = payload.loadUnaligned(as: crypto_user_alg.self)
        let skip = kseal_CRYPTO_ALG_INTERNAL | kseal_CRYPTO_ALG_LARVAL | kseal_CRYPTO_ALG_DEAD
        guard alg.cru_flags & skip == 0 else { return nil }
        var priority = 0
        var offset = kseal_nlmsg_align(size)
        let attributeHeader = kseal_nla_hdrlen()
        while offset + attributeHeader <= payload.count {
            let attributeLength = Int(payload.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            let type = payload.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)
            guard attributeLength >= attributeHeader, offset + attributeLength <= payload.count else { break }
            if UInt32(type) == CRYPTOCFGA_PRIORITY_VAL.rawValue, attributeLength >= attributeHeader + 4 {
                priority = Int(payload.loadUnaligned(fromByteOffset: offset + attributeHeader, as: UInt32.self))
            }
            offset += kseal_nla_align(attributeLength)
        }
        return DriverInfo(name: cString(alg.cru_name), driver: cString(alg.cru_driver_name), module: cString(alg.cru_module_name),
                          priority: priority, isHardware: alg.cru_flags & kseal_CRYPTO_ALG_KERN_DRIVER_ONLY != 0, source: "netlink")
    }

    /// Fallback when crypto_user is not loaded. /proc/crypto does not show the driver-only flag,
    /// so hardware is reported only as far as a `salg_feat`/`salg_mask` probe can tell.
    static func procCryptoLookup(_ name: String) -> DriverInfo? {
        guard let text = readTextFile("/proc/crypto") else { return nil }
        var entries: [DriverInfo] = []
        var fields: [String: String] = [:]
        // Blocks separated by blank lines, one algorithm each. (Splitting on Character, never on
        // a String, keeps _StringProcessing, 1.2 MB, out of the static device binary.)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) + [Substring("")] {
            if let colon = line.firstIndex(of: ":") {
                fields[line[..<colon].trimmingCharacters(in: " \t")] = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
                continue
            }
            guard line.allSatisfy({ $0 == " " || $0 == "\t" }) else { continue }
            defer { fields = [:] }
            guard fields["name"] == name, fields["internal"] != "yes", let driver = fields["driver"] else { continue }
            entries.append(DriverInfo(name: name, driver: driver, module: fields["module"] ?? "", priority: Int(fields["priority"] ?? "") ?? 0,
                                      isHardware: nil, source: "/proc/crypto"))
        }
        guard let top = best(entries) else { return nil }
        // Binding with feat = mask = KERN_DRIVER_ONLY succeeds only if some hardware driver exists
        // (up to Linux 7.1); if none does, the selected one is certainly software.
        let type: AlgType = name.hasPrefix("gcm") || name.hasPrefix("ccm") ? .aead : .hash
        let hardwareExists = (try? AlgSocket.transform(type: type, name: name, feature: kseal_CRYPTO_ALG_KERN_DRIVER_ONLY,
                                                      mask: kseal_CRYPTO_ALG_KERN_DRIVER_ONLY)) != nil
        return DriverInfo(name: top.name, driver: top.driver, module: top.module, priority: top.priority,
                          isHardware: hardwareExists ? nil : false, source: "/proc/crypto")
    }
}

private func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = self[...]
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
