import CAFAlg
#if canImport(Glibc)
import Glibc
#endif

// Thin syscall wrappers in the style of swift-system: each returns `Result<_, Errno>`, retries
// EINTR, and is the only place that reads the C `errno`. Nothing above this file sees an Int32
// return code.

@inline(__always)
func retryingOnInterrupt<T: FixedWidthInteger>(_ body: () -> T) -> Result<T, Errno> {
    while true {
        let result = body()
        if result != -1 { return .success(result) }
        let error = Errno.current
        if error != .interrupted { return .failure(error) }
    }
}

func system_socket(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Result<Int32, Errno> {
    retryingOnInterrupt { socket(domain, type, proto) }
}

func system_bind(_ fd: Int32, _ address: UnsafeRawPointer, _ length: Int) -> Result<Int32, Errno> {
    retryingOnInterrupt {
        bind(fd, address.assumingMemoryBound(to: sockaddr.self), socklen_t(length))
    }
}

func system_accept(_ fd: Int32) -> Result<Int32, Errno> {
    // accept4 is hidden behind _GNU_SOURCE in glibc's headers; FD_CLOEXEC afterwards is equivalent
    // here because kseal never forks between the two calls.
    retryingOnInterrupt { accept(fd, nil, nil) }.map { newFD in
        _ = fcntl(newFD, F_SETFD, FD_CLOEXEC)
        return newFD
    }
}

func system_setsockopt(
    _ fd: Int32, _ level: Int32, _ option: Int32, _ value: UnsafeRawPointer?, _ length: Int
) -> Result<Int32, Errno> {
    retryingOnInterrupt { setsockopt(fd, level, option, value, socklen_t(length)) }
}

func system_getsockopt_int(_ fd: Int32, _ level: Int32, _ option: Int32) -> Result<Int32, Errno> {
    var value: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    return retryingOnInterrupt { getsockopt(fd, level, option, &value, &length) }.map { _ in value }
}

func system_sendmsg(_ fd: Int32, _ message: UnsafePointer<msghdr>, _ flags: Int32) -> Result<Int, Errno> {
    retryingOnInterrupt { sendmsg(fd, message, flags) }
}

func system_recvmsg(_ fd: Int32, _ message: UnsafeMutablePointer<msghdr>, _ flags: Int32) -> Result<Int, Errno> {
    retryingOnInterrupt { recvmsg(fd, message, flags) }
}

func system_send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, _ flags: Int32) -> Result<Int, Errno> {
    retryingOnInterrupt { send(fd, buffer.baseAddress, buffer.count, flags) }
}

func system_recv(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ flags: Int32) -> Result<Int, Errno> {
    retryingOnInterrupt { recv(fd, buffer.baseAddress, buffer.count, flags) }
}

func system_add_key(_ type: String, _ description: String, _ payload: UnsafeRawBufferPointer, _ keyring: Int32) -> Result<Int, Errno> {
    retryingOnInterrupt { kseal_add_key(type, description, payload.baseAddress, payload.count, keyring) }
}

func system_request_key(_ type: String, _ description: String) -> Result<Int, Errno> {
    retryingOnInterrupt { kseal_request_key(type, description, 0) }
}

func system_keyctl(_ operation: Int32, _ arg2: UInt, _ arg3: UInt = 0, _ arg4: UInt = 0, _ arg5: UInt = 0) -> Result<Int, Errno> {
    retryingOnInterrupt { kseal_keyctl(operation, arg2, arg3, arg4, arg5) }
}

func system_close(_ fd: Int32) {
    // close() must not be retried on EINTR on Linux: the descriptor is already released.
    _ = close(fd)
}

/// Reads a whole (small, procfs) file as text; nil if it cannot be opened.
func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}
