#ifndef KSEAL_CAFALG_H
#define KSEAL_CAFALG_H

// Everything kseal needs from the kernel's AF_ALG and NETLINK_CRYPTO user API, taken from the
// kernel's own UAPI headers (linux-libc-dev) so no constant or struct layout is retyped in Swift.
// Swift imports plain integer macros and structs directly; function-like macros (CMSG_*) and the
// two values the UAPI headers do not carry are provided here.

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/if_alg.h>
#include <linux/netlink.h>
#include <linux/cryptouser.h>
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// ALG_SET_KEY_BY_KEY_SERIAL arrived in Linux 6.2 (commit 7984ceb134bf); Debian bookworm's
// linux-libc-dev (6.1) lacks it. The value is fixed kernel ABI.
#ifndef ALG_SET_KEY_BY_KEY_SERIAL
#define ALG_SET_KEY_BY_KEY_SERIAL 7
#endif

// CRYPTO_ALG_KERN_DRIVER_ONLY lives in the kernel-internal <linux/crypto.h>, yet it is exported to
// user space through crypto_user_alg.cru_flags. It marks drivers for off-CPU engines (CAAM, CESA…).
// CRYPTO_ALG_INTERNAL and CRYPTO_ALG_LARVAL/DEAD, from the same header, mark entries that are never
// selected for a user's request.
static const uint32_t kseal_CRYPTO_ALG_KERN_DRIVER_ONLY = 0x00001000;
static const uint32_t kseal_CRYPTO_ALG_INTERNAL = 0x00002000;
static const uint32_t kseal_CRYPTO_ALG_LARVAL = 0x00000010;
static const uint32_t kseal_CRYPTO_ALG_DEAD = 0x00000020;

static inline size_t kseal_cmsg_space(size_t len) { return CMSG_SPACE(len); }
static inline size_t kseal_cmsg_len(size_t len) { return CMSG_LEN(len); }
static inline struct cmsghdr *kseal_cmsg_firsthdr(struct msghdr *msg) { return CMSG_FIRSTHDR(msg); }
static inline struct cmsghdr *kseal_cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cmsg) {
    return CMSG_NXTHDR(msg, cmsg);
}
static inline unsigned char *kseal_cmsg_data(struct cmsghdr *cmsg) { return CMSG_DATA(cmsg); }

// add_key(2) and keyctl(2) have no glibc wrappers (libkeyutils provides them); variadic syscall()
// is not callable from Swift, so these fix the argument types.
static inline long kseal_add_key(const char *type, const char *description, const void *payload, size_t length,
                                 int32_t keyring) {
    return syscall(SYS_add_key, type, description, payload, length, keyring);
}
// request_key(2) without a callout only searches the caller's keyrings (thread, process, session).
static inline long kseal_request_key(const char *type, const char *description, int destination) {
    return syscall(SYS_request_key, type, description, (const char *)0, destination);
}
static inline long kseal_keyctl(int operation, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5) {
    return syscall(SYS_keyctl, operation, arg2, arg3, arg4, arg5);
}

static inline size_t kseal_nlmsg_align(size_t len) { return NLMSG_ALIGN(len); }
static inline size_t kseal_nlmsg_hdrlen(void) { return NLMSG_HDRLEN; }
static inline size_t kseal_nla_align(size_t len) { return NLA_ALIGN(len); }
static inline size_t kseal_nla_hdrlen(void) { return NLA_HDRLEN; }

#endif
