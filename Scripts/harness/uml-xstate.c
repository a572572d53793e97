// Preloaded into linux.uml (Debian's user-mode-linux 6.1) by Scripts/uml-run, so UML boots on any
// x86-64 host, including those whose XSAVE area is larger than UML's buffer (AMX tile data).
//
// Why: UML 6.1 keeps each guest thread's FPU/vector state in a buffer whose size is fixed when UML
// is built (2696 bytes in Debian's package: x87/SSE, AVX, AVX-512 opmask and ZMM, PKRU) and
// restores it with PTRACE_SETREGSET(NT_X86_XSTATE). The host kernel accepts that only with the
// whole XSAVE area (arch/x86/kernel/fpu/regset.c: `count != fpu_user_cfg.max_size` -> -EFAULT).
// With AMX the area is about 11 KB, so the first restore fails ("ptrace set fp regs failed,
// errno = 14") and init is killed. Upstream later sized the buffer at run time ("um: switch to
// regset API and depend on XSTATE", 2024), which Debian's 6.1 does not have.
//
// What: for NT_X86_XSTATE, a GET reads the whole area and hands UML the part its buffer holds; a
// SET reads the target's current whole area, lays UML's bytes over the front of it and writes the
// whole area back. Everything a guest can use lies in UML's part: AMX needs permission from
// arch_prctl(ARCH_REQ_XCOMP_PERM), which the guest kernel never grants, so the tile state beyond
// it is always in its initial state. Turning XSTATE off instead (PTRACE_SETFPREGS) would keep only
// x87/SSE and mix AVX state between threads of one guest process.
//
// The same path runs on every host, also where UML's buffer already covers the whole area, so a
// harness that is green on one machine has run exactly this code. Environment:
//   KSEAL_UML_XSTATE_LOG=FILE   one line on the first XSTATE call: both sizes and the path taken
//   KSEAL_UML_XSTATE=noxstate   negative control for the self-check: refuse NT_X86_XSTATE, so UML
//                               falls back to PTRACE_GETFPREGS and loses AVX state between threads
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

// Larger than any XSAVE area x86 defines today (AMX: 11008 bytes). Static: UML replaces malloc
// with its own allocator once its kernel runs.
static unsigned char whole[64 * 1024] __attribute__((aligned(64)));
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int logged;

typedef long (*ptrace_fn)(enum __ptrace_request, ...);

static long raw_ptrace(long request, pid_t pid, void *addr, void *data) {
    return syscall(SYS_ptrace, request, pid, addr, data);
}

static void log_line(const char *text) {
    const char *file = getenv("KSEAL_UML_XSTATE_LOG");
    if (logged || file == NULL) return;
    logged = 1;
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (write(fd, text, strlen(text)) < 0) { /* best effort: the harness reports a missing line */ }
    close(fd);
}

// Reads the target's whole XSAVE area into `whole`; returns its size, or -1 with errno.
static long get_whole(pid_t pid) {
    struct iovec all = { whole, sizeof whole };
    if (raw_ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &all) < 0) return -1;
    return (long)all.iov_len;
}

static long xstate(enum __ptrace_request request, pid_t pid, struct iovec *uml) {
    const char *mode = getenv("KSEAL_UML_XSTATE");
    if (mode != NULL && strcmp(mode, "noxstate") == 0) {
        log_line("NT_X86_XSTATE refused (negative control): UML falls back to PTRACE_GETFPREGS, x87/SSE only\n");
        errno = EIO;
        return -1;
    }
    pthread_mutex_lock(&lock);
    long result = -1;
    long size = get_whole(pid);
    if (size >= 0) {
        size_t part = uml->iov_len < (size_t)size ? uml->iov_len : (size_t)size;
        if (!logged) {
            char line[256];
            snprintf(line, sizeof line, "host XSAVE area %ld bytes, user-mode-linux's buffer %zu bytes: %s\n", size, uml->iov_len,
                     uml->iov_len < (size_t)size ? "required here (the host's area is larger); UML's part is laid over the whole area"
                                                 : "not required here (UML's buffer holds the whole area); the same path runs anyway");
            log_line(line);
        }
        if (request == PTRACE_GETREGSET) {
            memcpy(uml->iov_base, whole, part);
            uml->iov_len = part;
            result = 0;
        } else {
            memcpy(whole, uml->iov_base, part);
            struct iovec all = { whole, (size_t)size };
            result = raw_ptrace(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &all);
        }
    }
    int saved = errno;
    pthread_mutex_unlock(&lock);
    errno = saved;
    return result;
}

long ptrace(enum __ptrace_request request, ...) {
    va_list args;
    va_start(args, request);
    pid_t pid = va_arg(args, pid_t);
    void *addr = va_arg(args, void *);
    void *data = va_arg(args, void *);
    va_end(args);
    if ((request == PTRACE_GETREGSET || request == PTRACE_SETREGSET) && (long)addr == NT_X86_XSTATE && data != NULL)
        return xstate(request, pid, data);
    // Everything else goes to glibc's ptrace, which gives PEEK* requests their special return.
    static ptrace_fn next;
    if (next == NULL) next = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
    return next(request, pid, addr, data);
}
