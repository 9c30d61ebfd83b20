/* Shared helpers of the GCC fixed-point checks (tests/test_spinnaker_gcc.py).
 *
 * Our own code, written to do what sPyNNaker 1!7.4.1's C does with the same GCC types (ISO/IEC TR 18037
 * <stdfix.h>: accum = s16.15 in 32 bits, unsigned long fract = u0.32), so that GCC's front end and
 * libgcc decide the semantics: which multiplies truncate or round, what wraps or saturates.
 * sPyNNaker builds with arm-none-eabi-gcc for the ARM968 (ARMv5TE); we build with Debian's
 * arm-linux-gnueabihf-gcc and run under qemu-arm. Fixed-point semantics come from GCC's front end and
 * libgcc, not from the CPU.
 *
 * I/O: every program reads little-endian int32 records from stdin and writes int32 records to stdout.
 */
#ifndef NC_S1615_H
#define NC_S1615_H

#include <stdfix.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* spinn_common stdfix-full-iso.h: bitsk / kbits / bitsulr / ulrbits reinterpret through a union. */
static inline int32_t bitsk(accum k) {
    union { int32_t i; accum k; } x;
    x.k = k;
    return x.i;
}
static inline accum kbits(int32_t i) {
    union { int32_t i; accum k; } x;
    x.i = i;
    return x.k;
}
static inline uint32_t bitsulr(unsigned long fract f) {
    union { uint32_t i; unsigned long fract f; } x;
    x.f = f;
    return x.i;
}
static inline unsigned long fract ulrbits(uint32_t i) {
    union { uint32_t i; unsigned long fract f; } x;
    x.i = i;
    return x.f;
}

/* ARMv5TE's SMULBB (signed 16 x 16 of the bottom halfwords), the instruction spinn_common's
 * __smulbb intrinsic emits (GCC 12's arm_acle.h has no __smulbb). */
static inline int32_t smulbb(int32_t a, int32_t b) {
    int32_t r;
    __asm__("smulbb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* Read all of stdin as int32 words (the caller knows the record layout). */
static inline int32_t *read_all(size_t *n_words) {
    size_t cap = 1 << 20, n = 0;
    int32_t *buf = malloc(cap * sizeof(int32_t));
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap * sizeof(int32_t));
        }
        size_t got = fread(buf + n, sizeof(int32_t), cap - n, stdin);
        n += got;
        if (got == 0) {
            break;
        }
    }
    *n_words = n;
    return buf;
}

#endif
