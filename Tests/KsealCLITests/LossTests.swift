import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KsealTestSupport
import XCTest

/// What cannot be restored is said, one line per kind with a count, and the status is 7, never 0.
final class RestoreLossTests: XCTestCase {
    func testAnUnprivilegedExtractSaysWhatItCouldNotRestore() throws {
        guard getuid() == 0 else { throw XCTSkip("making the device node and trusted.* xattr needs root (CI runs as root)") }
        let (scratch, key) = try CLITests.scratchWithKey("kseal-losses")
        try shell("""
            cd '\(scratch.path)' && mkdir -p tree out && mknod tree/null c 1 3 && echo x > tree/f \
            && setfattr -n trusted.t -v 1 tree/f && setfattr -n user.u -v 2 tree/f && chown 65534:65534 out && chmod 755 .
            """)
        XCTAssertEqual(try CLITests.run(["create", "-q", "--format", "2", "-k", key, "a.kseal", "tree"], in: scratch.path).status, 0)
        try shell("chmod 644 '\(key)' '\(scratch.path)/a.kseal' && chmod o+x \"$(dirname '\(key)')\"")
        let result = try CLITests.run([], shell: "cd '\(scratch.path)' && setpriv --reuid=65534 --regid=65534 --clear-groups $KSEAL extract -q -k '\(key)' a.kseal -C out")
        XCTAssertEqual(result.status, 7, result.stderr)
        XCTAssertTrue(result.stderr.contains("not restored: 1 device nodes (need root)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("not restored: 1 trusted.* extended attributes"), result.stderr)
        XCTAssertEqual(try shell("getfattr --only-values -n user.u '\(scratch.path)/out/tree/f'"), "2", "what could be restored was")
        // Turned off is not lost: --no-xattrs leaves only the device, still status 7.
        try shell("rm -rf '\(scratch.path)/out/tree'")
        let off = try CLITests.run([], shell: "cd '\(scratch.path)' && setpriv --reuid=65534 --regid=65534 --clear-groups $KSEAL extract -q --no-xattrs -k '\(key)' a.kseal -C out")
        XCTAssertEqual(off.status, 7, off.stderr)
        XCTAssertFalse(off.stderr.contains("extended attributes"), off.stderr)
    }
}

/// What create cannot archive is said the same way: named, counted, status 7, and the archive
/// holds everything else.
final class CreateLossTests: XCTestCase {
    func testSocketsAndFormat1sMissingFieldsAreCountedWithStatus7() throws {
        let (scratch, key) = try CLITests.scratchWithKey("kseal-create-losses")
        try shell("""
            cd '\(scratch.path)' && mkdir tree && echo x > tree/f && setfattr -n user.u -v 1 tree/f && mkfifo tree/p
            """)
        try bindSocket(at: scratch.path + "/tree/s")
        let v2 = try CLITests.run(["create", "-q", "-k", key, "a.kseal", "tree"], in: scratch.path)
        XCTAssertEqual(v2.status, 7, v2.stderr)
        XCTAssertTrue(v2.stderr.contains("tree/s: socket not archived") && v2.stderr.contains("1 inputs not archived"), v2.stderr)
        XCTAssertFalse(v2.stderr.contains("extended attributes"), v2.stderr)
        let v1 = try CLITests.run(["create", "-q", "--format", "1", "-k", key, "b.kseal", "tree"], in: scratch.path)
        XCTAssertEqual(v1.status, 7, v1.stderr)
        XCTAssertTrue(v1.stderr.contains("2 inputs not archived"), v1.stderr)
        XCTAssertTrue(v1.stderr.contains("1 entries' extended attributes (ACLs, capabilities, labels) not recorded: format 1 has none"), v1.stderr)
        // The archive holds the rest, and a tree with nothing to lose is status 0.
        XCTAssertEqual(try CLITests.run(["verify", "-q", "-k", key, "b.kseal"], in: scratch.path).status, 0)
        try shell("cd '\(scratch.path)' && rm tree/s tree/p")
        XCTAssertEqual(try CLITests.run(["create", "-q", "-k", key, "c.kseal", "tree"], in: scratch.path).status, 0)
    }
}

/// Leaves a Unix socket at `path` (bound, then closed: the node stays).
private func bindSocket(at path: String) throws {
    let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    XCTAssertGreaterThanOrEqual(socket, 0)
    defer { close(socket) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)))
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    XCTAssertEqual(bound, 0, "bind \(path): errno \(errno)")
}
