/* Bit tricks for the book's occupancy bitmap, and a monotonic nanosecond clock. */
#ifndef CB_BITS_H
#define CB_BITS_H

#include <stdint.h>
#include <time.h>

#if defined(__GNUC__) || defined(__clang__)
#define cb_likely(x) __builtin_expect(!!(x), 1)
#define cb_unlikely(x) __builtin_expect(!!(x), 0)
#else
#define cb_likely(x) (x)
#define cb_unlikely(x) (x)
#endif

/* Index of the highest set bit of a non-zero word. */
static inline int cb_high_bit(uint64_t w) {
#if defined(__GNUC__) || defined(__clang__)
    return 63 - __builtin_clzll(w);
#else
    int i = 63;
    while (!(w >> i)) i--;
    return i;
#endif
}

/* Bits strictly below position b (0..64). */
static inline uint64_t cb_mask_below(int b) {
    return b >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << b) - 1);
}

static inline int cb_popcount(uint64_t w) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_popcountll(w);
#else
    int c = 0;
    while (w) { w &= w - 1; c++; }
    return c;
#endif
}

/* a + b into *out; true when it overflows int64 (then *out is unspecified). */
static inline int cb_add_overflow(int64_t a, int64_t b, int64_t *out) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_add_overflow(a, b, out);
#else
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return 1;
    *out = a + b;
    return 0;
#endif
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t cb_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif /* CB_BITS_H */
