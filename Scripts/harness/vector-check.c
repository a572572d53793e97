// Self-check of a kernel harness's FPU/vector save and restore (Scripts/uml-run --self-check).
//
// Several threads of one process each load every vector register the CPU has (zmm0-31 and
// k0-7 with AVX-512, else ymm0-15 with AVX, else xmm0-15) with values of their own, spin without
// touching them while the kernel preempts them, then read them back and compare. A kernel that
// saves or restores a thread's state wrongly (user-mode-linux restoring through a too-small
// buffer, or falling back to FXSAVE and keeping only the low 128 bits) hands one thread another's
// registers, and this sees it. Threads outnumber CPUs, so preemption is certain; the count of
// involuntary context switches is checked so that a run in which none happened cannot pass.
//
//   vector-check [SECONDS [THREADS]]     exit 0: intact; 1: corrupted; 2: inconclusive
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { ZMM_BYTES = 32 * 64, MASK_BYTES = 8 * 8, STATE_BYTES = ZMM_BYTES + MASK_BYTES, SPIN = 2000000 };

enum width { SSE, AVX, AVX512 };
static enum width width;
static double seconds = 2.0;

struct thread_result {
    int id;
    long rounds, corrupted, switches;
    char first[160];
};

#define R8(m, o) m(0, o) m(1, o) m(2, o) m(3, o) m(4, o) m(5, o) m(6, o) m(7, o)
#define R16(m, o) R8(m, o) m(8, o) m(9, o) m(10, o) m(11, o) m(12, o) m(13, o) m(14, o) m(15, o)
#define R32(m, o) R16(m, o) m(16, o) m(17, o) m(18, o) m(19, o) m(20, o) m(21, o) m(22, o) m(23, o) \
    m(24, o) m(25, o) m(26, o) m(27, o) m(28, o) m(29, o) m(30, o) m(31, o)
#define LOAD_Z(n, o) "vmovdqu64 " #n "*64(%0), %%zmm" #n "\n\t"
#define STORE_Z(n, o) "vmovdqu64 %%zmm" #n ", " #n "*64(%1)\n\t"
#define LOAD_K(n, o) "kmovw 2048+" #n "*8(%0), %%k" #n "\n\t"
#define STORE_K(n, o) "kmovw %%k" #n ", 2048+" #n "*8(%1)\n\t"
#define LOAD_Y(n, o) "vmovdqu " #n "*64(%0), %%ymm" #n "\n\t"
#define STORE_Y(n, o) "vmovdqu %%ymm" #n ", " #n "*64(%1)\n\t"
#define LOAD_X(n, o) "movdqu " #n "*64(%0), %%xmm" #n "\n\t"
#define STORE_X(n, o) "movdqu %%xmm" #n ", " #n "*64(%1)\n\t"
#define SPIN_ASM "mov %2, %%rcx\n\t1: dec %%rcx\n\tjnz 1b\n\t"
#define CLOBBER16 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
    "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

// Load all registers from `in`, spin, store them to `out`: one asm block, so the compiler never
// touches a vector register in between.
__attribute__((target("avx512f"))) static void round_avx512(const uint8_t *in, uint8_t *out, long spin) {
    __asm__ volatile(R32(LOAD_Z, 0) R8(LOAD_K, 0) SPIN_ASM R32(STORE_Z, 0) R8(STORE_K, 0)
                     : : "r"(in), "r"(out), "r"(spin)
                     : "rcx", "memory", "cc", CLOBBER16, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
                       "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
                       "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

__attribute__((target("avx"))) static void round_avx(const uint8_t *in, uint8_t *out, long spin) {
    __asm__ volatile(R16(LOAD_Y, 0) SPIN_ASM R16(STORE_Y, 0) : : "r"(in), "r"(out), "r"(spin)
                     : "rcx", "memory", "cc", CLOBBER16);
}

static void round_sse(const uint8_t *in, uint8_t *out, long spin) {
    __asm__ volatile(R16(LOAD_X, 0) SPIN_ASM R16(STORE_X, 0) : : "r"(in), "r"(out), "r"(spin)
                     : "rcx", "memory", "cc", CLOBBER16);
}

static uint64_t mix(uint64_t z) {  // SplitMix64's finaliser
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The bytes of register `reg` that this width covers, and their count.
static size_t reg_bytes(int reg, size_t *offset) {
    if (reg < 32) { *offset = (size_t)reg * 64; return width == AVX512 ? 64 : width == AVX ? 32 : 16; }
    *offset = ZMM_BYTES + (size_t)(reg - 32) * 8;
    return 2;  // kmovw: 16-bit masks
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *worker(void *arg) {
    struct thread_result *result = arg;
    uint8_t in[STATE_BYTES] __attribute__((aligned(64))), out[STATE_BYTES] __attribute__((aligned(64)));
    int registers = width == AVX512 ? 40 : 16;
    double end = now() + seconds;
    while (now() < end) {
        for (size_t i = 0; i < STATE_BYTES; i += 8) {
            uint64_t v = mix(((uint64_t)result->id << 48) ^ ((uint64_t)result->rounds << 16) ^ i);
            memcpy(in + i, &v, 8);
        }
        memset(out, 0, sizeof out);
        if (width == AVX512) round_avx512(in, out, SPIN);
        else if (width == AVX) round_avx(in, out, SPIN);
        else round_sse(in, out, SPIN);
        for (int reg = 0; reg < registers; reg++) {
            size_t offset, count = reg_bytes(reg, &offset);
            if (memcmp(in + offset, out + offset, count) == 0) continue;
            if (result->corrupted++ == 0) {
                size_t at = 0;
                while (at < count && in[offset + at] == out[offset + at]) at++;
                snprintf(result->first, sizeof result->first, "thread %d, round %ld: %s%d differs from byte %zu on",
                         result->id, result->rounds, reg < 32 ? (width == AVX512 ? "zmm" : width == AVX ? "ymm" : "xmm") : "k",
                         reg < 32 ? reg : reg - 32, at);
            }
        }
        result->rounds++;
    }
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    result->switches = usage.ru_nivcsw;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) seconds = atof(argv[1]);
    int threads = argc > 2 ? atoi(argv[2]) : 4;
    if (threads < 2 || threads > 64 || seconds <= 0) { fprintf(stderr, "usage: vector-check [SECONDS [THREADS 2-64]]\n"); return 2; }
    __builtin_cpu_init();
    width = __builtin_cpu_supports("avx512f") ? AVX512 : __builtin_cpu_supports("avx") ? AVX : SSE;
    const char *names[] = { "SSE (xmm0-15)", "AVX (ymm0-15)", "AVX-512 (zmm0-31, k0-7)" };

    pthread_t ids[64];
    struct thread_result results[64];
    memset(results, 0, sizeof results);
    for (int t = 0; t < threads; t++) {
        results[t].id = t + 1;
        if (pthread_create(&ids[t], NULL, worker, &results[t]) != 0) { perror("vector-check: pthread_create"); return 2; }
    }
    long rounds = 0, corrupted = 0, switches = 0;
    const char *first = NULL;
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        rounds += results[t].rounds;
        corrupted += results[t].corrupted;
        switches += results[t].switches;
        if (first == NULL && results[t].corrupted) first = results[t].first;
    }
    printf("vector-check: %d threads, %s, %ld rounds, %ld involuntary context switches, %ld corrupted registers\n",
           threads, names[width], rounds, switches, corrupted);
    if (corrupted) { printf("vector-check: FAILED: %s\n", first); return 1; }
    if (switches < 20) { printf("vector-check: INCONCLUSIVE: only %ld preemptions\n", switches); return 2; }
    return 0;
}
