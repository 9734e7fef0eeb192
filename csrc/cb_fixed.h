/* Exact fixed-point parsing and formatting of Kalshi's decimal strings.
 *
 * Prices are integer basis points of $1 (0..10000), sizes integer hundredths of a contract,
 * money integer micro-dollars.  Nothing here goes through floating point, and nothing here
 * touches Python: the functions take a pointer and a length, so the frame decoder can call them
 * on bytes inside a WebSocket buffer and the fuzzer can call them on anything.
 *
 * Every parser returns CB_OK or a negative CB_E* code and writes *out only on success.
 */
#ifndef CB_FIXED_H
#define CB_FIXED_H

#include <stddef.h>
#include <stdint.h>

#define CB_OK 0
#define CB_E_EMPTY (-1)      /* no characters */
#define CB_E_SYNTAX (-2)     /* a character that is not part of a decimal number */
#define CB_E_DECIMALS (-3)   /* more fractional digits than the unit holds */
#define CB_E_RANGE (-4)      /* outside the unit's range */
#define CB_E_SIGN (-5)       /* a sign where none is allowed */

#define CB_PRICE_MAX_BP 10000
/* Integer digits accepted for sizes (x100) and money (x10^6): well inside int64. */
#define CB_SIZE_MAX_INT_DIGITS 16
#define CB_MONEY_MAX_INT_DIGITS 12

static const int64_t cb_pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

/* Parse [sign] digits [ '.' digits ] into an integer scaled by 10^scale.
 * At least one digit before the point; if a point is present, at least one digit after it. */
static inline int cb_parse_scaled(const char *s, size_t n, int scale, int allow_sign,
                                  int max_int_digits, int64_t *out) {
    size_t i = 0, start;
    int negative = 0;
    int64_t whole = 0, frac = 0;
    int int_digits = 0, frac_digits = 0;
    if (n == 0) return CB_E_EMPTY;
    if (s[0] == '-' || s[0] == '+') {
        if (!allow_sign) return CB_E_SIGN;
        negative = (s[0] == '-');
        i = 1;
    }
    start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (int_digits > 0 || s[i] != '0') {
            if (int_digits >= max_int_digits) return CB_E_RANGE;
            int_digits++;
        }
        whole = whole * 10 + (s[i] - '0');
        i++;
    }
    if (i == start) return CB_E_SYNTAX; /* no digit before the point ("-", ".5", "x") */
    if (i < n) {
        if (s[i] != '.') return CB_E_SYNTAX;
        i++;
        if (i == n) return CB_E_SYNTAX; /* "1." */
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (frac_digits >= scale) {
                /* more decimals than the unit holds: refused, never rounded */
                return CB_E_DECIMALS;
            }
            frac = frac * 10 + (s[i] - '0');
            frac_digits++;
            i++;
        }
        if (i < n) return CB_E_SYNTAX;
    }
    {
        int64_t v = whole * cb_pow10[scale] + frac * cb_pow10[scale - frac_digits];
        *out = negative ? -v : v;
    }
    return CB_OK;
}

/* "0.96", "0.9600", "1", "0" -> basis points.  0..4 decimals, no sign, 0..10000. */
static inline int cb_parse_price_bp(const char *s, size_t n, int32_t *out) {
    int64_t v;
    int rc = cb_parse_scaled(s, n, 4, 0, 6, &v);
    if (rc == CB_E_RANGE) return CB_E_RANGE;
    if (rc != CB_OK) return rc;
    if (v > CB_PRICE_MAX_BP) return CB_E_RANGE;
    *out = (int32_t)v;
    return CB_OK;
}

/* "13.5", "-54.00", "300" -> hundredths of a contract.  0..2 decimals, optional sign. */
static inline int cb_parse_size(const char *s, size_t n, int64_t *out) {
    return cb_parse_scaled(s, n, 2, 1, CB_SIZE_MAX_INT_DIGITS, out);
}

/* "0.010000", "-12.5", "1234.5678" -> micro-dollars.  0..6 decimals, optional sign. */
static inline int cb_parse_money(const char *s, size_t n, int64_t *out) {
    return cb_parse_scaled(s, n, 6, 1, CB_MONEY_MAX_INT_DIGITS, out);
}

/* Write v / 10^scale with exactly `scale` decimals; returns the length (no NUL written).
 * buf needs 22 + scale bytes at most. */
static inline size_t cb_format_scaled(int64_t v, int scale, char *buf) {
    char tmp[32];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int digits = 0;
    do {
        tmp[n++] = (char)('0' + (u % 10));
        u /= 10;
        digits++;
        if (digits == scale) tmp[n++] = '.';
    } while (u != 0 || digits <= scale);
    if (scale == 0 && tmp[n - 1] == '.') n--;
    if (v < 0) buf[len++] = '-';
    while (n > 0) buf[len++] = tmp[--n];
    return len;
}

static inline size_t cb_format_price(int32_t price_bp, char *buf) {
    return cb_format_scaled(price_bp, 4, buf);
}
static inline size_t cb_format_size(int64_t size_c100, char *buf) {
    return cb_format_scaled(size_c100, 2, buf);
}
static inline size_t cb_format_money(int64_t micro, char *buf) {
    return cb_format_scaled(micro, 6, buf);
}

#endif /* CB_FIXED_H */
