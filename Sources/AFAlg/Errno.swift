#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX error number, typed so that raw `Int32` values never travel above the syscall wrappers.
///
/// Modelled on swift-system's `Errno`: the named values are the ones AF_ALG is documented (and
/// measured) to return, so callers can switch on them.
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let addressFamilyNotSupported = Errno(rawValue: EAFNOSUPPORT)
    public static let notPermitted = Errno(rawValue: EPERM)
    public static let permissionDenied = Errno(rawValue: EACCES)
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let badMessage = Errno(rawValue: EBADMSG)
    public static let noKey = Errno(rawValue: ENOKEY)
    public static let resourceBusy = Errno(rawValue: EBUSY)
    public static let noMemory = Errno(rawValue: ENOMEM)
    public static let protocolNotAvailable = Errno(rawValue: ENOPROTOOPT)
    public static let notSupported = Errno(rawValue: EOPNOTSUPP)
    public static let protocolNotSupported = Errno(rawValue: EPROTONOSUPPORT)
    public static let keyRevoked = Errno(rawValue: EKEYREVOKED)
    public static let keyExpired = Errno(rawValue: EKEYEXPIRED)
    public static let keyRejected = Errno(rawValue: EKEYREJECTED)

    /// The current thread's `errno`.
    static var current: Errno { Errno(rawValue: errno) }

    /// The symbolic name where kseal knows it (`EAFNOSUPPORT`), else `errno N`.
    public var name: String {
        switch rawValue {
        case EINTR: "EINTR"
        case EAGAIN: "EAGAIN"
        case EAFNOSUPPORT: "EAFNOSUPPORT"
        case EPERM: "EPERM"
        case EACCES: "EACCES"
        case ENOENT: "ENOENT"
        case EINVAL: "EINVAL"
        case EBADMSG: "EBADMSG"
        case ENOKEY: "ENOKEY"
        case EBUSY: "EBUSY"
        case ENOMEM: "ENOMEM"
        case ENOPROTOOPT: "ENOPROTOOPT"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case EPROTONOSUPPORT: "EPROTONOSUPPORT"
        case EMSGSIZE: "EMSGSIZE"
        case EBADF: "EBADF"
        case EFAULT: "EFAULT"
        case EIO: "EIO"
        case EKEYREVOKED: "EKEYREVOKED"
        case EKEYEXPIRED: "EKEYEXPIRED"
        case EKEYREJECTED: "EKEYREJECTED"
        case ENODEV: "ENODEV"
        case ENOSYS: "ENOSYS"
        case EEXIST: "EEXIST"
        case ENOTDIR: "ENOTDIR"
        case ENOSPC: "ENOSPC"
        case ELOOP: "ELOOP"
        case ERANGE: "ERANGE"
        case ENXIO: "ENXIO"
        default: "errno \(rawValue)"
        }
    }

    public var description: String { "\(name) (\(String(cString: strerror(rawValue))))" }
}
