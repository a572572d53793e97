import KsealCrypto

/// `kseal --help` of the device build; kseal(1), DEVICE BUILD, documents the same.
enum Usage {
    static var text: String { """
    kseal (device build): verify and extract sealed archives with the kernel's crypto.

    usage: kseal verify  [options] ARCHIVE [--json] [--progress auto|json|none]
           kseal extract [options] ARCHIVE [PATH...] [-C DIR] [--strip-components N]
                         [--keep-directory-symlink] [--no-same-owner] [--numeric-owner]
                         [--no-xattrs] [--no-acls] [--no-selinux] [--stdout] [--json]
                         [--verify-first] [--progress auto|json|none]
           kseal list    [options] ARCHIVE [-l|--long] [-0|--null] [--json]
           kseal info    [options] ARCHIVE [--json]
           kseal doctor  [--crypto auto|kernel|userspace] [--json] [-q]
           kseal --version | --help

    options (every command that reads an archive):
      -k, --key-file PATH      a 32-byte key file (repeatable; default $KSEAL_KEY_FILE)
      --key-keyring KEY        a key the kernel holds, by description or serial (repeatable)
      --passphrase, --passphrase-file PATH
                               a passphrase, on the terminal or a file's first line
      --trust PATH             trust archives signed by this public key (repeatable)
      --trust-dir DIR          trust every *.pub key in DIR, which must hold one
                               (default /etc/kseal/trusted.d, which may be missing)
      --crypto auto|kernel|userspace
                               the backend (this build: \(Build.name))
      -q, --quiet              no notes on stderr

    Exit status: 0 success, 1 damaged archive, 2 wrong key, 3 I/O error, 4 crypto backend
    unavailable, 5 unsupported archive, 6 refused unsafe entry, 7 completed with losses,
    8 not trusted, 64 usage error, 70 internal error. See kseal(1).

    """ }
}
