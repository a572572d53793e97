// Host-side test of uml-xstate.c in the situation AMX hosts create for user-mode-linux: a caller
// whose XSTATE buffer is smaller than the host's XSAVE area. Here the caller's buffer is 576
// bytes (the x87/SSE area and the XSAVE header); every host with AVX has a larger area (at least
// 832 bytes), so the situation arises on any such machine, not only on one with AMX.
//
// A traced child loads its own values into ymm0-15 (and zmm16 with AVX-512) and stops. The parent
// checks that the host refuses a raw 576-byte SETREGSET (EFAULT, as UML's 2696 bytes are refused
// on AMX hosts), then goes through the shim: GET gives the child's xmm values (the low halves of
// its ymm registers), SET writes new ones. The child, resumed, checks that the low halves hold the
// new values and that what lies outside the caller's part was kept: the high halves of ymm0-15
// and zmm16.
//
//   exit 0: passed; 1: failed; 77: this CPU has no AVX (nothing to test)
#include "uml-xstate.c"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

enum { PART = 576, XMM_AT = 160 };

static uint8_t pattern_a[16 * 32] __attribute__((aligned(64))), pattern_b[16 * 32] __attribute__((aligned(64)));
static uint8_t pattern_c[64] __attribute__((aligned(64))), seen_y[16 * 32] __attribute__((aligned(64)));
static uint8_t expected_y[16 * 32];  // B's low halves, A's high halves
static uint8_t seen_z[64] __attribute__((aligned(64)));

#define R16(m) m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7) m(8) m(9) m(10) m(11) m(12) m(13) m(14) m(15)
#define LOAD_Y(n) "vmovdqu " #n "*32(%0), %%ymm" #n "\n\t"
#define STORE_Y(n) "vmovdqu %%ymm" #n ", " #n "*32(%1)\n\t"
#define CLOBBER16 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
    "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

__attribute__((target("avx512f"))) static void child_avx512(void) {
    __asm__ volatile(R16(LOAD_Y) "vmovdqu64 (%2), %%zmm16\n\tint3\n\t" R16(STORE_Y) "vmovdqu64 %%zmm16, (%3)\n\t"
                     : : "r"(pattern_a), "r"(seen_y), "r"(pattern_c), "r"(seen_z) : "memory", CLOBBER16, "xmm16");
}

__attribute__((target("avx"))) static void child_avx(void) {
    __asm__ volatile(R16(LOAD_Y) "int3\n\t" R16(STORE_Y) : : "r"(pattern_a), "r"(seen_y) : "memory", CLOBBER16);
}

static int fail(const char *what) {
    fprintf(stderr, "uml-xstate-test: FAILED: %s (%s)\n", what, strerror(errno));
    return 1;
}

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx")) { puts("uml-xstate-test: skipped, no AVX on this CPU"); return 77; }
    int avx512 = __builtin_cpu_supports("avx512f");
    for (size_t i = 0; i < sizeof pattern_a; i++) { pattern_a[i] = (uint8_t)(i * 7 + 1); pattern_b[i] = (uint8_t)(i * 13 + 5); }
    for (size_t i = 0; i < sizeof pattern_c; i++) pattern_c[i] = (uint8_t)(0xC0 ^ i);
    for (int reg = 0; reg < 16; reg++) {
        memcpy(expected_y + 32 * reg, pattern_b + 32 * reg, 16);
        memcpy(expected_y + 32 * reg + 16, pattern_a + 32 * reg + 16, 16);
    }

    pid_t child = fork();
    if (child == 0) {
        raw_ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        if (avx512) child_avx512(); else child_avx();
        int ok = memcmp(seen_y, expected_y, sizeof seen_y) == 0 && (!avx512 || memcmp(seen_z, pattern_c, sizeof seen_z) == 0);
        _exit(ok ? 0 : 3);
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) return fail("the child did not stop at int3");

    long host = get_whole(child);
    if (host < 0) return fail("PTRACE_GETREGSET of the whole area");
    uint8_t part[PART];
    struct iovec small = { part, PART };
    if (raw_ptrace(PTRACE_GETREGSET, child, (void *)NT_X86_XSTATE, &small) < 0) return fail("raw GETREGSET");
    errno = 0;
    if (raw_ptrace(PTRACE_SETREGSET, child, (void *)NT_X86_XSTATE, &small) == 0 || errno != EFAULT)
        return fail("the host accepted a partial SETREGSET; expected EFAULT");

    memset(part, 0, sizeof part);
    small.iov_len = PART;
    if (ptrace(PTRACE_GETREGSET, child, (void *)NT_X86_XSTATE, &small) < 0 || small.iov_len != PART) return fail("shim GETREGSET");
    for (int reg = 0; reg < 16; reg++) {
        if (memcmp(part + XMM_AT + 16 * reg, pattern_a + 32 * reg, 16) != 0) { errno = 0; return fail("shim GET did not return the child's xmm values"); }
        memcpy(part + XMM_AT + 16 * reg, pattern_b + 32 * reg, 16);
    }
    if (ptrace(PTRACE_SETREGSET, child, (void *)NT_X86_XSTATE, &small) < 0) return fail("shim SETREGSET");
    raw_ptrace(PTRACE_CONT, child, NULL, NULL);
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return fail("the child did not exit");
    if (WEXITSTATUS(status) != 0) { errno = 0; return fail("the child's registers are not what SET wrote, or state beyond the part was lost"); }
    printf("uml-xstate-test: passed: host XSAVE area %ld bytes, caller's buffer %d bytes; a raw SET is refused with EFAULT, "
           "the shim's GET and SET carry xmm0-15 and keep the high halves of ymm0-15%s beyond the caller's part\n",
           host, PART, avx512 ? " and zmm16" : "");
    return 0;
}
