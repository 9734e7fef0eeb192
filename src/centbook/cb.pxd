# The C helpers in csrc/, declared once for every Cython module of centbook.
from libc.stdint cimport int32_t, int64_t, uint64_t


cdef extern from "cb_fixed.h" nogil:
    int CB_OK
    int CB_E_EMPTY
    int CB_E_SYNTAX
    int CB_E_DECIMALS
    int CB_E_RANGE
    int CB_E_SIGN
    int CB_PRICE_MAX_BP
    int cb_parse_price_bp(const char *s, size_t n, int32_t *out)
    int cb_parse_size(const char *s, size_t n, int64_t *out)
    int cb_parse_money(const char *s, size_t n, int64_t *out)
    size_t cb_format_price(int32_t price_bp, char *buf)
    size_t cb_format_size(int64_t size_c100, char *buf)
    size_t cb_format_money(int64_t micro, char *buf)


cdef extern from "cb_bits.h" nogil:
    bint cb_likely(bint)
    bint cb_unlikely(bint)
    int cb_high_bit(uint64_t w)
    uint64_t cb_mask_below(int b)
    int cb_popcount(uint64_t w)
    bint cb_add_overflow(int64_t a, int64_t b, int64_t *out)
    int64_t cb_monotonic_ns()
