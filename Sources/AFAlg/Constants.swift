import CAFAlg
#if canImport(Glibc)
import Glibc
#endif

// Every AF_ALG constant comes from the kernel's UAPI header through CAFAlg; they are gathered
// here as typed values so no bare Int32 is passed around.

/// `SOL_ALG` socket options (`ALG_SET_*`).
struct AlgOption: RawRepresentable, Hashable {
    let rawValue: Int32
    static let setKey = AlgOption(rawValue: ALG_SET_KEY)
    static let setIV = AlgOption(rawValue: ALG_SET_IV)
    static let setOperation = AlgOption(rawValue: ALG_SET_OP)
    static let setAEADAssociatedLength = AlgOption(rawValue: ALG_SET_AEAD_ASSOCLEN)
    static let setAEADAuthSize = AlgOption(rawValue: ALG_SET_AEAD_AUTHSIZE)
    static let setKeyByKeySerial = AlgOption(rawValue: ALG_SET_KEY_BY_KEY_SERIAL)
}

/// The direction of a cipher operation (`ALG_OP_*`).
struct AlgOperationType: RawRepresentable, Hashable {
    let rawValue: UInt32
    static let encrypt = AlgOperationType(rawValue: UInt32(ALG_OP_ENCRYPT))
    static let decrypt = AlgOperationType(rawValue: UInt32(ALG_OP_DECRYPT))
}

/// The `salg_type` of an AF_ALG transform socket.
public struct AlgType: RawRepresentable, Hashable, Sendable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let aead = AlgType(rawValue: "aead")
    public static let hash = AlgType(rawValue: "hash")
    public static let skcipher = AlgType(rawValue: "skcipher")
}

/// Socket-level constants used on AF_ALG sockets.
enum SocketConstants {
    static let solAlg = Int32(SOL_ALG)
    static let afAlg = Int32(AF_ALG)
    static let solSocket = Int32(SOL_SOCKET)
    static let sendBuffer = Int32(SO_SNDBUF)
    static let receiveBuffer = Int32(SO_RCVBUF)
    static let msgMore = Int32(MSG_MORE)
    static let msgTrunc = Int32(MSG_TRUNC)
    static let seqPacket = Int32(SOCK_SEQPACKET.rawValue)
    static let closeOnExec = Int32(SOCK_CLOEXEC.rawValue)
}
