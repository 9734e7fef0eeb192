/* The Kalshi WebSocket frame parser; see cb_frame.h for the contract. */
#include <string.h>

#include "cb_fixed.h"
#include "cb_frame.h"

typedef struct {
    const unsigned char *base;   /* start of the frame (for error offsets) */
    const unsigned char *p;
    const unsigned char *end;
    cb_frame_t *r;
} cursor_t;

/* A string value as found in the frame: the bytes between the quotes, still escaped. */
typedef struct {
    const unsigned char *s;
    size_t n;
    int escaped;
} span_t;

#define FATAL (-1)

/* Record a semantic error (the first one wins; the scan goes on). */
static void soft_error(cursor_t *c, cb_frame_err_t err, const char *field, const unsigned char *at) {
    if (c->r->err == CB_FE_NONE) {
        c->r->err = err;
        c->r->err_field = field;
        c->r->err_pos = (size_t)(at - c->base);
    }
}

/* Record a syntax error (it replaces any semantic one: the frame is not JSON at all). */
static int hard_error(cursor_t *c, cb_frame_err_t err, const char *field, const unsigned char *at) {
    c->r->err = err;
    c->r->err_field = field;
    c->r->err_pos = (size_t)(at - c->base);
    return FATAL;
}

static inline void skip_ws(cursor_t *c) {
    const unsigned char *p = c->p, *end = c->end;
    if (p < end && *p > ' ') return;   /* the usual case: compact JSON */
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    c->p = p;
}

static inline int hexval(unsigned char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Read 4 hex digits at p (p + 4 <= end checked by the caller). */
static inline int read_hex4(const unsigned char *p) {
    int a = hexval(p[0]), b = hexval(p[1]), d = hexval(p[2]), e = hexval(p[3]);
    if ((a | b | d | e) < 0) return -1;
    return (a << 12) | (b << 8) | (d << 4) | e;
}

/* Length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0. Rejects overlongs,
 * surrogates and code points above U+10FFFF, as Python's strict utf-8 codec does. */
static inline size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
    unsigned char b0 = p[0];
    size_t avail = (size_t)(end - p);
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        if (avail < 2 || (p[1] & 0xC0) != 0x80) return 0;
        return 2;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (b0 == 0xE0 && p[1] < 0xA0) return 0;   /* overlong */
        if (b0 == 0xED && p[1] >= 0xA0) return 0;  /* surrogate */
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (b0 == 0xF0 && p[1] < 0x90) return 0;   /* overlong */
        if (b0 == 0xF4 && p[1] >= 0x90) return 0;  /* above U+10FFFF */
        return 4;
    }
    return 0;
}

/* 1 for the bytes a string holds as they are: printable ASCII but '"' and '\\'. */
static const unsigned char plain_byte[256] = {
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    1,1,0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,0,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
};

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Non-zero when one of the 8 bytes of w needs a look: '"', '\\', a control character (< 0x20) or a
 * byte of a multi-byte UTF-8 sequence (>= 0x80). Classic SWAR tests; exact for bytes < 0x80. */
static inline uint64_t special_bytes(uint64_t w) {
    uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');
    uint64_t hits = ((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash) | ((w - ONES * 0x20) & ~w);
    return (hits | w) & HIGHS;
}

/* Index (0..7) of the lowest non-zero byte of a non-zero word, as the bytes lie in memory. */
static inline size_t cb_low_byte(uint64_t hit) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (size_t)(__builtin_clzll(hit) >> 3);
#elif defined(__GNUC__) || defined(__clang__)
    return (size_t)(__builtin_ctzll(hit) >> 3);
#else
    size_t i = 0;
    while (!(hit & 0xFF)) { hit >>= 8; i++; }
    return i;
#endif
}

#if defined(__SSE2__)
#include <emmintrin.h>
#define CB_SSE2 1
/* Bit i set when byte i of the 16 at p needs a look (as special_bytes): one signed compare
 * catches both the control characters (< 0x20) and the bytes of multi-byte UTF-8 (>= 0x80). */
static inline unsigned special_mask16(const unsigned char *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                            _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                               _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    return (unsigned)_mm_movemask_epi8(hit);
}
#endif

/* First byte at or after p that is not plain printable ASCII (or end): 16 bytes at a time where
 * SSE2 exists (every x86-64), then 8 at a time, then byte by byte. The lowest flagged byte of a
 * SWAR word is always a true one (borrows only run up). */
static inline const unsigned char *scan_plain(const unsigned char *p, const unsigned char *end) {
#ifdef CB_SSE2
    while (end - p >= 16) {
        unsigned m = special_mask16(p);
        if (m) return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    while (end - p >= 8) {
        uint64_t w, hit;
        memcpy(&w, p, 8);
        hit = special_bytes(w);
        if (hit) return p + cb_low_byte(hit);
        p += 8;
    }
    while (p < end && plain_byte[*p]) p++;
    return p;
}

/* Scan a string starting at the opening quote; validate escapes and UTF-8. */
static int scan_string(cursor_t *c, span_t *out) {
    const unsigned char *p = c->p + 1, *end = c->end, *start = p;
    int escaped = 0;
    for (;;) {
        p = scan_plain(p, end);
        if (p >= end) return hard_error(c, CB_FE_TRUNCATED, "", end);
        if (*p == '"') break;
        if (*p == '\\') {
            escaped = 1;
            if (p + 1 >= end) return hard_error(c, CB_FE_TRUNCATED, "", end);
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                break;
            case 'u': {
                int cp;
                if (p + 6 > end) {
                    /* a truncation if what is there is still hex, else a syntax error */
                    const unsigned char *q = p + 2;
                    while (q < end && hexval(*q) >= 0) q++;
                    if (q == end) return hard_error(c, CB_FE_TRUNCATED, "", end);
                    return hard_error(c, CB_FE_SYNTAX, "", q);
                }
                cp = read_hex4(p + 2);
                if (cp < 0) return hard_error(c, CB_FE_SYNTAX, "", p);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    int lo;
                    if (p + 12 > end) {
                        const unsigned char *q = p + 6;
                        static const char pat[] = "\\u";
                        size_t k = 0;
                        while (q < end && k < 2 && *q == (unsigned char)pat[k]) { q++; k++; }
                        if (k == 2) while (q < end && hexval(*q) >= 0) q++;
                        if (q == end) return hard_error(c, CB_FE_TRUNCATED, "", end);
                        return hard_error(c, CB_FE_UTF8, "", p);
                    }
                    if (p[6] != '\\' || p[7] != 'u') return hard_error(c, CB_FE_UTF8, "", p);
                    lo = read_hex4(p + 8);
                    if (lo < 0) return hard_error(c, CB_FE_SYNTAX, "", p + 6);
                    if (lo < 0xDC00 || lo > 0xDFFF) return hard_error(c, CB_FE_UTF8, "", p);
                    p += 12;
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return hard_error(c, CB_FE_UTF8, "", p);
                } else {
                    p += 6;
                }
                break;
            }
            default:
                return hard_error(c, CB_FE_SYNTAX, "", p);
            }
            continue;
        }
        if (*p < 0x20) return hard_error(c, CB_FE_SYNTAX, "", p);   /* raw control character */
        {
            size_t k = utf8_seq(p, end);
            if (k == 0) {
                /* a multi-byte sequence cut by the end of the input is a truncation */
                size_t avail = (size_t)(end - p), need = 0, i;
                if (p[0] >= 0xC2 && p[0] <= 0xDF) need = 2;
                else if (p[0] >= 0xE0 && p[0] <= 0xEF) need = 3;
                else if (p[0] >= 0xF0 && p[0] <= 0xF4) need = 4;
                if (need && avail < need) {
                    for (i = 1; i < avail && (p[i] & 0xC0) == 0x80; i++) {}
                    if (i == avail) return hard_error(c, CB_FE_TRUNCATED, "", end);
                }
                return hard_error(c, CB_FE_UTF8, "", p);
            }
            p += k;
        }
    }
    out->s = start;
    out->n = (size_t)(p - start);
    out->escaped = escaped;
    c->p = p + 1;
    return 0;
}

/* Write the code point cp as UTF-8 into dst (room checked by the caller). */
static size_t put_utf8(unsigned char *dst, unsigned cp) {
    if (cp < 0x80) { dst[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        dst[0] = (unsigned char)(0xC0 | (cp >> 6));
        dst[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (unsigned char)(0xE0 | (cp >> 12));
        dst[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (unsigned char)(0xF0 | (cp >> 18));
    dst[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode a string validated by scan_string into dst (UTF-8). Returns the length, or (size_t)-1
 * if it needs more than cap bytes. */
static size_t unescape(const span_t *sp, char *dst_, size_t cap) {
    unsigned char *dst = (unsigned char *)dst_;
    const unsigned char *p = sp->s, *end = sp->s + sp->n;
    size_t n = 0;
    if (!sp->escaped) {
        if (sp->n > cap) return (size_t)-1;
        memcpy(dst, sp->s, sp->n);
        return sp->n;
    }
    while (p < end) {
        unsigned cp;
        if (*p != '\\') {
            if (n >= cap) return (size_t)-1;
            dst[n++] = *p++;
            continue;
        }
        switch (p[1]) {
        case 'b': cp = '\b'; p += 2; break;
        case 'f': cp = '\f'; p += 2; break;
        case 'n': cp = '\n'; p += 2; break;
        case 'r': cp = '\r'; p += 2; break;
        case 't': cp = '\t'; p += 2; break;
        case 'u':
            cp = (unsigned)read_hex4(p + 2);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo = (unsigned)read_hex4(p + 8);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 12;
            } else {
                p += 6;
            }
            break;
        default: cp = p[1]; p += 2; break;   /* " \ / */
        }
        if (n + (cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u) > cap) return (size_t)-1;
        n += put_utf8(dst + n, cp);
    }
    return n;
}

/* Scan a JSON number at c->p; validate the grammar. */
static int scan_number(cursor_t *c, span_t *out, int *is_int, int *has_exp) {
    const unsigned char *p = c->p, *end = c->end, *start = p;
    *is_int = 1;
    *has_exp = 0;
    if (*p == '-') p++;
    if (p >= end) return hard_error(c, CB_FE_TRUNCATED, "", end);
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return hard_error(c, CB_FE_SYNTAX, "", p);
    }
    if (p < end && *p == '.') {
        *is_int = 0;
        p++;
        if (p >= end) return hard_error(c, CB_FE_TRUNCATED, "", end);
        if (!(*p >= '0' && *p <= '9')) return hard_error(c, CB_FE_SYNTAX, "", p);
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *is_int = 0;
        *has_exp = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end) return hard_error(c, CB_FE_TRUNCATED, "", end);
        if (!(*p >= '0' && *p <= '9')) return hard_error(c, CB_FE_SYNTAX, "", p);
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    /* a number is never the last byte of a frame that is an object: the end means truncation */
    if (p >= end) return hard_error(c, CB_FE_TRUNCATED, "", end);
    out->s = start;
    out->n = (size_t)(p - start);
    out->escaped = 0;
    c->p = p;
    return 0;
}

static int expect_literal(cursor_t *c, const char *lit, size_t n) {
    size_t avail = (size_t)(c->end - c->p), i;
    for (i = 0; i < n; i++) {
        if (i >= avail) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
        if (c->p[i] != (unsigned char)lit[i]) return hard_error(c, CB_FE_SYNTAX, "", c->p + i);
    }
    c->p += n;
    return 0;
}

static int skip_value(cursor_t *c, int depth);

/* Object: c->p at '{'. For each member call on_member(c, key, ctx) positioned at the value; the
 * callback must consume the value. Generic skipping passes on_member = NULL. */
typedef int (*member_fn)(cursor_t *c, const span_t *key, void *ctx);

#if defined(__GNUC__) || defined(__clang__)
#define CB_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define CB_ALWAYS_INLINE inline
#endif

static CB_ALWAYS_INLINE int walk_object(cursor_t *c, int depth, member_fn fn, void *ctx) {
    span_t key;
    if (depth > CB_FRAME_MAX_DEPTH) return hard_error(c, CB_FE_DEPTH, "", c->p);
    c->p++;
    skip_ws(c);
    if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
    if (*c->p == '}') { c->p++; return 0; }
    for (;;) {
        if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
        if (*c->p != '"') return hard_error(c, CB_FE_SYNTAX, "", c->p);
        {
            /* keys are short plain ASCII: a byte loop beats the general string scan */
            const unsigned char *q = c->p + 1;
            while (q < c->end && plain_byte[*q]) q++;
            if (q < c->end && *q == '"') {
                key.s = c->p + 1;
                key.n = (size_t)(q - key.s);
                key.escaped = 0;
                c->p = q + 1;
            } else if (scan_string(c, &key)) {
                return FATAL;
            }
        }
        skip_ws(c);
        if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
        if (*c->p != ':') return hard_error(c, CB_FE_SYNTAX, "", c->p);
        c->p++;
        skip_ws(c);
        if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
        if (fn) {
            if (fn(c, &key, ctx)) return FATAL;
        } else if (skip_value(c, depth + 1)) {
            return FATAL;
        }
        skip_ws(c);
        if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
        if (*c->p == ',') {
            c->p++;
            skip_ws(c);
            continue;
        }
        if (*c->p == '}') { c->p++; return 0; }
        return hard_error(c, CB_FE_SYNTAX, "", c->p);
    }
}

static int skip_array(cursor_t *c, int depth) {
    if (depth > CB_FRAME_MAX_DEPTH) return hard_error(c, CB_FE_DEPTH, "", c->p);
    c->p++;
    skip_ws(c);
    if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
    if (*c->p == ']') { c->p++; return 0; }
    for (;;) {
        if (skip_value(c, depth + 1)) return FATAL;
        skip_ws(c);
        if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
        if (*c->p == ',') {
            c->p++;
            skip_ws(c);
            if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
            continue;
        }
        if (*c->p == ']') { c->p++; return 0; }
        return hard_error(c, CB_FE_SYNTAX, "", c->p);
    }
}

/* Validate and skip any JSON value at c->p (not whitespace; c->p < c->end). */
static int skip_value(cursor_t *c, int depth) {
    span_t sp;
    int is_int, has_exp;
    switch (*c->p) {
    case '"': return scan_string(c, &sp);
    case '{': return walk_object(c, depth, NULL, NULL);
    case '[': return skip_array(c, depth);
    case 't': return expect_literal(c, "true", 4);
    case 'f': return expect_literal(c, "false", 5);
    case 'n': return expect_literal(c, "null", 4);
    default:
        if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) return scan_number(c, &sp, &is_int, &has_exp);
        return hard_error(c, CB_FE_SYNTAX, "", c->p);
    }
}

/* ------------------------------------------------------------------ typed field readers */

/* A non-negative integer, as a JSON integer or a string of digits. *ok = 1 when valid. */
static int read_int(cursor_t *c, const char *field, int64_t *out, int *ok) {
    const unsigned char *at = c->p;
    span_t sp;
    char buf[32];
    size_t n, i;
    int64_t v = 0;
    *ok = 0;
    if (*c->p >= '1' && *c->p <= '9') {
        /* fast path: a plain JSON integer of at most 18 digits followed by a delimiter */
        const unsigned char *p = c->p, *end = c->end;
        const unsigned char *lim = end - p > 18 ? p + 18 : end;
        while (p < lim && (unsigned)(*p - '0') < 10u) v = v * 10 + (*p++ - '0');
        /* a 19th digit, a fraction or an exponent: the general path decides */
        if (p < end && *p != '.' && *p != 'e' && *p != 'E' && (unsigned)(*p - '0') >= 10u) {
            c->p = p;
            *out = v;
            *ok = 1;
            return 0;
        }
        v = 0;   /* not that simple: the general path decides */
    }
    if (*c->p == '"') {
        if (scan_string(c, &sp)) return FATAL;
        n = unescape(&sp, buf, sizeof buf);
        if (n == (size_t)-1) { soft_error(c, CB_FE_INTEGER, field, at); return 0; }
    } else if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
        int is_int, has_exp;
        if (scan_number(c, &sp, &is_int, &has_exp)) return FATAL;
        if (!is_int || sp.n >= sizeof buf) { soft_error(c, CB_FE_INTEGER, field, at); return 0; }
        memcpy(buf, sp.s, sp.n);
        n = sp.n;
    } else {
        if (skip_value(c, 1)) return FATAL;
        soft_error(c, CB_FE_TYPE, field, at);
        return 0;
    }
    if (n == 0 || n > 18) { soft_error(c, CB_FE_INTEGER, field, at); return 0; }
    for (i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9') { soft_error(c, CB_FE_INTEGER, field, at); return 0; }
        v = v * 10 + (buf[i] - '0');
    }
    *out = v;
    *ok = 1;
    return 0;
}

/* A decimal as a string or a plain JSON number, handed to the cb_fixed parser `kind`
 * (0 price, 1 size). */
static int read_fixed(cursor_t *c, int kind, const char *field, cb_frame_err_t err, int32_t *price,
                      int64_t *size, int *ok) {
    const unsigned char *at = c->p;
    span_t sp;
    char buf[40];
    const char *s;
    size_t n;
    int rc;
    *ok = 0;
    if (*c->p == '"') {
        if (scan_string(c, &sp)) return FATAL;
        if (sp.escaped) {
            n = unescape(&sp, buf, sizeof buf);
            if (n == (size_t)-1) { soft_error(c, err, field, at); return 0; }
            s = buf;
        } else {
            s = (const char *)sp.s;
            n = sp.n;
        }
    } else if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
        int is_int, has_exp;
        if (scan_number(c, &sp, &is_int, &has_exp)) return FATAL;
        if (has_exp) { soft_error(c, err, field, at); return 0; }
        s = (const char *)sp.s;
        n = sp.n;
    } else {
        if (skip_value(c, 1)) return FATAL;
        soft_error(c, CB_FE_TYPE, field, at);
        return 0;
    }
    rc = kind == 0 ? cb_parse_price_bp(s, n, price) : cb_parse_size(s, n, size);
    if (rc != CB_OK) { soft_error(c, err, field, at); return 0; }
    *ok = 1;
    return 0;
}

/* A string decoded into dst; *len = its length; *ok = 1 when it fits. */
static int read_string(cursor_t *c, const char *field, cb_frame_err_t too_long, char *dst, size_t cap,
                       size_t *len, int *ok) {
    const unsigned char *at = c->p;
    span_t sp;
    size_t n;
    *ok = 0;
    if (*c->p != '"') {
        if (skip_value(c, 1)) return FATAL;
        soft_error(c, CB_FE_TYPE, field, at);
        return 0;
    }
    if (scan_string(c, &sp)) return FATAL;
    n = unescape(&sp, dst, cap);
    if (n == (size_t)-1) { soft_error(c, too_long, field, at); return 0; }
    *len = n;
    *ok = 1;
    return 0;
}

/* ------------------------------------------------------------------ keys */

enum {
    K_OTHER = 0,
    /* envelope */
    K_TYPE, K_SID, K_SEQ, K_ID, K_MSG,
    /* orderbook msg */
    K_MARKET_TICKER, K_MARKET_ID, K_PRICE_DOLLARS, K_DELTA_FP, K_SIDE, K_TS_MS, K_CLIENT_ORDER_ID,
    K_SUBACCOUNT, K_YES_DOLLARS_FP, K_NO_DOLLARS_FP,
    /* legacy orderbook fields; the deprecated ts (known, not read) */
    K_LEGACY, K_TS
};

#define KEYIS(lit) (n == sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)

static CB_ALWAYS_INLINE int envelope_key(const char *s, size_t n) {
    switch (n) {
    case 2: if (KEYIS("id")) return K_ID; break;
    case 3:
        if (KEYIS("sid")) return K_SID;
        if (KEYIS("seq")) return K_SEQ;
        if (KEYIS("msg")) return K_MSG;
        break;
    case 4: if (KEYIS("type")) return K_TYPE; break;
    }
    return K_OTHER;
}

static CB_ALWAYS_INLINE int book_key(const char *s, size_t n) {
    switch (n) {
    case 2:
        if (KEYIS("ts")) return K_TS;
        if (KEYIS("no")) return K_LEGACY;
        break;
    case 3: if (KEYIS("yes")) return K_LEGACY; break;
    case 4: if (KEYIS("side")) return K_SIDE; break;
    case 5:
        if (KEYIS("ts_ms")) return K_TS_MS;
        if (KEYIS("price") || KEYIS("delta")) return K_LEGACY;
        break;
    case 8: if (KEYIS("delta_fp")) return K_DELTA_FP; break;
    case 9: if (KEYIS("market_id")) return K_MARKET_ID; break;
    case 10:
        if (KEYIS("subaccount")) return K_SUBACCOUNT;
        if (KEYIS("no_dollars")) return K_LEGACY;
        break;
    case 11: if (KEYIS("yes_dollars")) return K_LEGACY; break;
    case 13:
        if (KEYIS("market_ticker")) return K_MARKET_TICKER;
        if (KEYIS("price_dollars")) return K_PRICE_DOLLARS;
        if (KEYIS("no_dollars_fp")) return K_NO_DOLLARS_FP;
        break;
    case 14: if (KEYIS("yes_dollars_fp")) return K_YES_DOLLARS_FP; break;
    case 15: if (KEYIS("client_order_id")) return K_CLIENT_ORDER_ID; break;
    }
    return K_OTHER;
}

/* The key as plain bytes: escaped keys are decoded into buf (keys longer than buf are no key
 * the parser knows, so they classify as K_OTHER). */
static CB_ALWAYS_INLINE int classify_key(const span_t *key, int (*table)(const char *, size_t)) {
    char buf[32];
    size_t n;
    if (!key->escaped) return table((const char *)key->s, key->n);
    n = unescape(key, buf, sizeof buf);
    if (n == (size_t)-1) return K_OTHER;
    return table(buf, n);
}

static const struct { const char *name; cb_kind_t kind; } kinds[] = {
    {"orderbook_snapshot", CB_KIND_SNAPSHOT},
    {"orderbook_delta", CB_KIND_DELTA},
    {"subscribed", CB_KIND_SUBSCRIBED},
    {"unsubscribed", CB_KIND_UNSUBSCRIBED},
    {"ok", CB_KIND_OK},
    {"error", CB_KIND_ERROR},
    {"ticker", CB_KIND_TICKER},
    {"trade", CB_KIND_TRADE},
    {"fill", CB_KIND_FILL},
    {"market_position", CB_KIND_MARKET_POSITION},
    {"user_order", CB_KIND_USER_ORDER},
    {"order_group_updates", CB_KIND_ORDER_GROUP_UPDATES},
    {"market_lifecycle_v2", CB_KIND_MARKET_LIFECYCLE_V2},
    {"multivariate_market_lifecycle", CB_KIND_MULTIVARIATE_MARKET_LIFECYCLE},
    {"event_lifecycle", CB_KIND_EVENT_LIFECYCLE},
    {"event_fee_update", CB_KIND_EVENT_FEE_UPDATE},
    {"rfq_created", CB_KIND_RFQ_CREATED},
    {"rfq_deleted", CB_KIND_RFQ_DELETED},
    {"quote_created", CB_KIND_QUOTE_CREATED},
    {"quote_accepted", CB_KIND_QUOTE_ACCEPTED},
    {"quote_executed", CB_KIND_QUOTE_EXECUTED},
    {"cfbenchmarks_value", CB_KIND_CFBENCHMARKS_VALUE},
    {"cfbenchmarks_value_indexlist", CB_KIND_CFBENCHMARKS_INDEXLIST},
    {"pyth_value", CB_KIND_PYTH_VALUE},
    {"pyth_value_underlying_list", CB_KIND_PYTH_UNDERLYING_LIST},
};

static cb_kind_t classify_type(const char *s, size_t n) {
    size_t i;
    /* the two hot types first */
    if (KEYIS("orderbook_delta")) return CB_KIND_DELTA;
    if (KEYIS("orderbook_snapshot")) return CB_KIND_SNAPSHOT;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t m = strlen(kinds[i].name);
        if (m == n && memcmp(kinds[i].name, s, n) == 0) return kinds[i].kind;
    }
    return CB_KIND_UNKNOWN;
}

const char *cb_kind_name(int kind) {
    size_t i;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if ((int)kinds[i].kind == kind) return kinds[i].name;
    return "";
}

/* ------------------------------------------------------------------ the orderbook msg */

typedef struct {
    uint32_t seen;      /* bit per K_* already read (duplicates) */
    int legacy;
} book_ctx_t;

static int read_levels(cursor_t *c, int side, const char *field) {
    cb_frame_t *r = c->r;
    const unsigned char *at = c->p;
    size_t count = 0;
    if (*c->p != '[') {
        if (skip_value(c, 1)) return FATAL;
        soft_error(c, CB_FE_TYPE, field, at);
        return 0;
    }
    c->p++;
    skip_ws(c);
    if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
    if (*c->p == ']') {
        c->p++;
        r->level_count[side] = 0;
        return 0;
    }
    for (;;) {
        const unsigned char *lat = c->p;
        int32_t price = 0;
        int64_t size = 0;
        int ok_price = 0, ok_size = 0, items = 0;
        if (*c->p != '[') {
            if (skip_value(c, 2)) return FATAL;
            soft_error(c, CB_FE_LEVEL, field, lat);
        } else {
            c->p++;
            skip_ws(c);
            if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
            if (*c->p != ']') {
                for (;;) {
                    const unsigned char *iat = c->p;
                    if (items == 0 && (*c->p == '"' || *c->p == '-' || (*c->p >= '0' && *c->p <= '9'))) {
                        if (read_fixed(c, 0, field, CB_FE_PRICE, &price, NULL, &ok_price)) return FATAL;
                    } else if (items == 1 && (*c->p == '"' || *c->p == '-' || (*c->p >= '0' && *c->p <= '9'))) {
                        if (read_fixed(c, 1, field, CB_FE_SIZE, NULL, &size, &ok_size)) return FATAL;
                    } else {
                        if (skip_value(c, 3)) return FATAL;
                        soft_error(c, CB_FE_LEVEL, field, iat);
                    }
                    items++;
                    skip_ws(c);
                    if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
                    if (*c->p == ',') {
                        c->p++;
                        skip_ws(c);
                        if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
                        continue;
                    }
                    if (*c->p == ']') break;
                    return hard_error(c, CB_FE_SYNTAX, "", c->p);
                }
            }
            c->p++;   /* the level's ']' */
            if (items != 2) soft_error(c, CB_FE_LEVEL, field, lat);
            if (items == 2 && ok_price && ok_size) {
                if (count < r->level_cap) {
                    r->level_price_bp[side][count] = price;
                    r->level_size[side][count] = size;
                } else {
                    soft_error(c, CB_FE_TOO_MANY_LEVELS, field, lat);
                }
                count++;
            }
        }
        skip_ws(c);
        if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
        if (*c->p == ',') {
            c->p++;
            skip_ws(c);
            if (c->p >= c->end) return hard_error(c, CB_FE_TRUNCATED, "", c->end);
            continue;
        }
        if (*c->p == ']') { c->p++; break; }
        return hard_error(c, CB_FE_SYNTAX, "", c->p);
    }
    r->level_count[side] = count < r->level_cap ? count : r->level_cap;
    return 0;
}

static const char *book_field_names[] = {
    "", "type", "sid", "seq", "id", "msg", "market_ticker", "market_id", "price_dollars", "delta_fp",
    "side", "ts_ms", "client_order_id", "subaccount", "yes_dollars_fp", "no_dollars_fp", "",
};

static int book_member(cursor_t *c, const span_t *key, void *ctx_) {
    book_ctx_t *ctx = (book_ctx_t *)ctx_;
    cb_frame_t *r = c->r;
    int k = classify_key(key, book_key);
    const unsigned char *at = c->p;
    int ok = 0;
    int is_delta = r->kind == CB_KIND_DELTA;
    if (k == K_TS) return skip_value(c, 2);
    if (k == K_LEGACY) {
        ctx->legacy = 1;
        return skip_value(c, 2);
    }
    /* unknown here: other keys, and the fields of the other orderbook message */
    if (k == K_OTHER || (is_delta && (k == K_YES_DOLLARS_FP || k == K_NO_DOLLARS_FP))
        || (!is_delta && (k == K_PRICE_DOLLARS || k == K_DELTA_FP || k == K_SIDE))) {
        r->unknown_keys++;
        return skip_value(c, 2);
    }
    if (ctx->seen & (1u << k)) {
        soft_error(c, CB_FE_DUPLICATE_KEY, book_field_names[k], (const unsigned char *)key->s - 1);
        return skip_value(c, 2);
    }
    ctx->seen |= 1u << k;
    switch (k) {
    case K_MARKET_TICKER:
        if (read_string(c, "market_ticker", CB_FE_TICKER, r->ticker, CB_TICKER_MAX, &r->ticker_len, &ok))
            return FATAL;
        if (ok && r->ticker_len == 0) {
            soft_error(c, CB_FE_TICKER, "market_ticker", at);
            ok = 0;
        }
        if (ok) r->have |= CB_HAVE_TICKER;
        return 0;
    case K_MARKET_ID: {
        span_t sp;
        if (*c->p != '"') {
            if (skip_value(c, 2)) return FATAL;
            soft_error(c, CB_FE_TYPE, "market_id", at);
            return 0;
        }
        if (scan_string(c, &sp)) return FATAL;
        r->have |= CB_HAVE_MARKET_ID;
        return 0;
    }
    case K_PRICE_DOLLARS:
        if (read_fixed(c, 0, "price_dollars", CB_FE_PRICE, &r->price_bp, NULL, &ok)) return FATAL;
        if (ok) r->have |= CB_HAVE_PRICE;
        return 0;
    case K_DELTA_FP:
        if (read_fixed(c, 1, "delta_fp", CB_FE_SIZE, NULL, &r->delta, &ok)) return FATAL;
        if (ok) r->have |= CB_HAVE_DELTA;
        return 0;
    case K_SIDE: {
        char buf[8];
        size_t n = 0;
        if (read_string(c, "side", CB_FE_SIDE, buf, sizeof buf, &n, &ok)) return FATAL;
        if (!ok) return 0;
        if (n == 3 && memcmp(buf, "yes", 3) == 0) r->side = 0;
        else if (n == 2 && memcmp(buf, "no", 2) == 0) r->side = 1;
        else {
            soft_error(c, CB_FE_SIDE, "side", at);
            return 0;
        }
        r->have |= CB_HAVE_SIDE;
        return 0;
    }
    case K_TS_MS:
        if (read_int(c, "ts_ms", &r->ts_ms, &ok)) return FATAL;
        if (ok) r->have |= CB_HAVE_TS_MS;
        return 0;
    case K_SUBACCOUNT:
        if (read_int(c, "subaccount", &r->subaccount, &ok)) return FATAL;
        if (ok) r->have |= CB_HAVE_SUBACCOUNT;
        return 0;
    case K_CLIENT_ORDER_ID:
        if (read_string(c, "client_order_id", CB_FE_TOO_LONG, r->client_order_id, CB_COID_MAX,
                        &r->client_order_id_len, &ok))
            return FATAL;
        if (ok) r->have |= CB_HAVE_COID;
        return 0;
    case K_YES_DOLLARS_FP:
        if (read_levels(c, 0, "yes_dollars_fp")) return FATAL;
        r->have |= CB_HAVE_YES;
        return 0;
    case K_NO_DOLLARS_FP:
        if (read_levels(c, 1, "no_dollars_fp")) return FATAL;
        r->have |= CB_HAVE_NO;
        return 0;
    }
    return skip_value(c, 2);
}

static int parse_book_msg(cursor_t *c) {
    cb_frame_t *r = c->r;
    book_ctx_t ctx = {0, 0};
    const unsigned char *at = c->p;
    if (*c->p != '{') {
        if (skip_value(c, 1)) return FATAL;
        soft_error(c, CB_FE_NOT_OBJECT, "msg", at);
        return 0;
    }
    if (walk_object(c, 1, book_member, &ctx)) return FATAL;
    r->have |= CB_HAVE_MSG;
    if (r->kind == CB_KIND_DELTA) {
        static const struct { int key; const char *name; } req[] = {
            {K_MARKET_TICKER, "market_ticker"}, {K_PRICE_DOLLARS, "price_dollars"},
            {K_DELTA_FP, "delta_fp"}, {K_SIDE, "side"},
        };
        size_t i;
        /* a field present but bad has its own error already; only absence is reported here */
        for (i = 0; i < sizeof req / sizeof req[0]; i++) {
            if (!(ctx.seen & (1u << req[i].key))) {
                soft_error(c, ctx.legacy ? CB_FE_LEGACY : CB_FE_MISSING, req[i].name, at);
                break;
            }
        }
    } else {
        if (!(ctx.seen & (1u << K_MARKET_TICKER))) soft_error(c, CB_FE_MISSING, "market_ticker", at);
        else if (ctx.legacy && !(r->have & (CB_HAVE_YES | CB_HAVE_NO)))
            soft_error(c, CB_FE_LEGACY, "yes_dollars_fp", at);
    }
    return 0;
}

/* ------------------------------------------------------------------ the envelope */

typedef struct {
    uint32_t seen;
    const unsigned char *msg_at;   /* msg seen before type: parsed again afterwards */
} env_ctx_t;

static int envelope_member(cursor_t *c, const span_t *key, void *ctx_) {
    env_ctx_t *ctx = (env_ctx_t *)ctx_;
    cb_frame_t *r = c->r;
    int k = classify_key(key, envelope_key);
    const unsigned char *at = c->p;
    int ok = 0;
    static const char *names[] = {"", "type", "sid", "seq", "id", "msg"};
    if (k == K_OTHER) {
        r->unknown_keys++;
        return skip_value(c, 1);
    }
    if (ctx->seen & (1u << k)) {
        soft_error(c, CB_FE_DUPLICATE_KEY, names[k], (const unsigned char *)key->s - 1);
        return skip_value(c, 1);
    }
    ctx->seen |= 1u << k;
    switch (k) {
    case K_TYPE: {
        span_t sp;
        char buf[40];
        size_t n;
        if (*c->p != '"') {
            if (skip_value(c, 1)) return FATAL;
            soft_error(c, CB_FE_TYPE, "type", at);
            return 0;
        }
        if (scan_string(c, &sp)) return FATAL;
        r->type_pos = (size_t)(sp.s - c->base);
        r->type_len = sp.n;
        r->have |= CB_HAVE_TYPE;
        if (!sp.escaped) {
            r->kind = classify_type((const char *)sp.s, sp.n);
            return 0;
        }
        n = unescape(&sp, buf, sizeof buf);
        r->kind = n == (size_t)-1 ? CB_KIND_UNKNOWN : classify_type(buf, n);
        return 0;
    }
    case K_SID:
        if (read_int(c, "sid", &r->sid, &ok)) return FATAL;
        if (ok) r->have |= CB_HAVE_SID;
        return 0;
    case K_SEQ:
        if (read_int(c, "seq", &r->seq, &ok)) return FATAL;
        if (ok) r->have |= CB_HAVE_SEQ;
        return 0;
    case K_ID:
        if (read_int(c, "id", &r->id, &ok)) return FATAL;
        if (ok) r->have |= CB_HAVE_ID;
        return 0;
    case K_MSG:
        if (r->kind == CB_KIND_SNAPSHOT || r->kind == CB_KIND_DELTA) return parse_book_msg(c);
        if (!(r->have & CB_HAVE_TYPE) && !(ctx->seen & (1u << K_TYPE))) ctx->msg_at = c->p;
        r->have |= CB_HAVE_MSG;
        return skip_value(c, 1);
    }
    return skip_value(c, 1);
}

/* ------------------------------------------------------------------ the canonical delta */

/* Kalshi sends deltas compact and in one key order. This recognises exactly that layout:
 *   {"type":"orderbook_delta","sid":N,"seq":N,"msg":{"market_ticker":"T"[,"market_id":"U"],
 *    "price_dollars":"P","delta_fp":"D","side":"yes"|"no"[,"ts":"S"][,"ts_ms":N]}}
 * with plain ASCII strings and integers of 1 to 18 digits, and fills *r exactly as the general
 * parser would. Anything else (another order, whitespace, escapes, extra or missing keys, a bad
 * value) returns 0 and the general parser starts over: this is only a shortcut, never a
 * different set of rules. fuzz_frame.c checks that both agree on every input. */

#define LIT(s) (s), (sizeof(s) - 1)

/* Compare a literal with as few loads as its length allows: 8-byte words, the last one
 * overlapping its neighbour, or two overlapping 4-byte halves for 4 to 7 bytes. Once inlined,
 * the literal's words fold into immediates, so `,"seq":` is one length check and two compares. */
static CB_ALWAYS_INLINE int take(const unsigned char **pp, const unsigned char *end, const char *lit,
                                 size_t n) {
    const unsigned char *p = *pp;
    size_t i;
    if ((size_t)(end - p) < n) return 0;
    if (n >= 8) {
        uint64_t a, b;
        for (i = 0; i + 8 <= n; i += 8) {
            memcpy(&a, p + i, 8);
            memcpy(&b, lit + i, 8);
            if (a != b) return 0;
        }
        if (i < n) {
            memcpy(&a, p + n - 8, 8);
            memcpy(&b, lit + n - 8, 8);
            if (a != b) return 0;
        }
    } else if (n >= 4) {
        uint32_t a, b, c, d;
        memcpy(&a, p, 4);
        memcpy(&b, lit, 4);
        memcpy(&c, p + n - 4, 4);
        memcpy(&d, lit + n - 4, 4);
        if (a != b || c != d) return 0;
    } else {
        for (i = 0; i < n; i++)
            if (p[i] != (unsigned char)lit[i]) return 0;
    }
    *pp = p + n;
    return 1;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CB_SWAR_DIGITS 1
/* Non-zero bits only in the bytes of w that are not ASCII digits; exact up to and including the
 * first such byte (a carry of w + 6 can only leave a byte >= 0xFA, itself flagged). */
static inline uint64_t nondigit_bytes(uint64_t w) {
    return ((w & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL) |
           (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL);
}

/* The value of 8 ASCII digits (first digit in the lowest byte). */
static inline uint64_t eight_digit_value(uint64_t w) {
    w -= 0x3030303030303030ULL;
    w = (w * 10) + (w >> 8);
    w = (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
         (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
    return w;
}

/* The value of the first k (1..7) ASCII digits of w: the digits move to the top bytes and the
 * bytes below them become '0', leading zeros of the same number. */
static inline uint64_t leading_digits_value(uint64_t w, unsigned k) {
    unsigned shift = 8 * (8 - k);
    return eight_digit_value((w << shift) | (0x3030303030303030ULL >> (64 - shift)));
}
#endif

/* The 8 bytes at p, or when fewer than 8 are left before end, those bytes followed by zero
 * bytes (read as the 8 bytes before end: the caller knows the buffer holds at least 8). */
static CB_ALWAYS_INLINE uint64_t load_upto8(const unsigned char *p, const unsigned char *end) {
    uint64_t w;
    size_t avail = (size_t)(end - p);
    if (avail >= 8) {
        memcpy(&w, p, 8);
        return w;
    }
    if (avail == 0) return 0;
    memcpy(&w, end - 8, 8);
    return w >> (8 * (8 - avail));
}

/* [1-9][0-9]{0,17}: at most 18 digits, read 8 at a time. What follows is not checked here: in the
 * canonical layout every number is followed by a literal starting with ',' or '}', which the
 * caller takes next, so a longer number, a fraction or an exponent fails there. `base`: the start
 * of the frame, at least 8 bytes long (load_upto8 reads its last 8 bytes near the end). */
static CB_ALWAYS_INLINE int take_int(const unsigned char **pp, const unsigned char *base,
                                     const unsigned char *end, int64_t *out) {
    const unsigned char *p = *pp;
    int64_t v = 0;
    if (p >= end || (unsigned)(*p - '1') >= 9u) return 0;
#ifdef CB_SWAR_DIGITS
    if (end - base >= 8) {
        static const int64_t scale[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
        uint64_t w = load_upto8(p, end), t = nondigit_bytes(w);
        unsigned k;
        if (t) {   /* 1 to 7 digits: sid, seq */
            k = (unsigned)__builtin_ctzll(t) >> 3;
            *out = (int64_t)leading_digits_value(w, k);
            *pp = p + k;
            return 1;
        }
        v = (int64_t)eight_digit_value(w);
        p += 8;
        w = load_upto8(p, end);
        t = nondigit_bytes(w);
        if (t) {   /* 8 to 15 digits: ts_ms */
            k = (unsigned)__builtin_ctzll(t) >> 3;
            if (k) v = v * scale[k] + (int64_t)leading_digits_value(w, k);
            *out = v;
            *pp = p + k;
            return 1;
        }
        v = v * 100000000 + (int64_t)eight_digit_value(w);
        p += 8;
        if (p < end && (unsigned)(*p - '0') < 10u) v = v * 10 + (*p++ - '0');
        if (p < end && (unsigned)(*p - '0') < 10u) v = v * 10 + (*p++ - '0');
        *out = v;
        *pp = p;
        return 1;
    }
#endif
    (void)base;
    {
        const unsigned char *lim = end - p > 18 ? p + 18 : end;
        while (p < lim && (unsigned)(*p - '0') < 10u) v = v * 10 + (*p++ - '0');
    }
    *out = v;
    *pp = p;
    return 1;
}

/* Plain bytes up to the closing quote (which is consumed); the content is [*s, *s + *n). */
static inline int take_plain_string(const unsigned char **pp, const unsigned char *end,
                                    const unsigned char **s, size_t *n) {
    const unsigned char *p = scan_plain(*pp, end);
    if (p >= end || *p != '"') return 0;
    *s = *pp;
    *n = (size_t)(p - *pp);
    *pp = p + 1;
    return 1;
}

/* A price string up to its closing quote. Kalshi writes "D.DDDD"; that form is read directly,
 * any other goes through cb_parse_price_bp, the definition (the results are the same). */
static CB_ALWAYS_INLINE int take_price(const unsigned char **pp, const unsigned char *end, int32_t *out) {
    const unsigned char *p = *pp, *s;
    size_t n;
    if (end - p >= 7 && p[6] == '"' && p[1] == '.') {
        unsigned d0 = p[0] - '0', d1 = p[2] - '0', d2 = p[3] - '0', d3 = p[4] - '0', d4 = p[5] - '0';
        if (d0 <= 1 && d1 < 10 && d2 < 10 && d3 < 10 && d4 < 10) {
            unsigned v = d0 * 10000 + d1 * 1000 + d2 * 100 + d3 * 10 + d4;
            if (v > CB_PRICE_MAX_BP) return 0;
            *out = (int32_t)v;
            *pp = p + 7;
            return 1;
        }
    }
    if (!take_plain_string(pp, end, &s, &n)) return 0;
    return cb_parse_price_bp((const char *)s, n, out) == CB_OK;
}

/* A size string up to its closing quote. Kalshi writes "[-]I.DD"; with 1 to 15 integer digits
 * that form is read directly, any other goes through cb_parse_size (same results). */
static CB_ALWAYS_INLINE int take_size(const unsigned char **pp, const unsigned char *end, int64_t *out) {
    const unsigned char *p = *pp, *digits, *s;
    size_t n;
    int negative = 0;
    int64_t v = 0;
    if (p < end && *p == '-') { negative = 1; p++; }
    digits = p;
    while (p < end && (unsigned)(*p - '0') < 10u && p - digits < 15) v = v * 10 + (*p++ - '0');
    if (p > digits && end - p >= 4 && p[0] == '.' && p[3] == '"') {
        unsigned f0 = p[1] - '0', f1 = p[2] - '0';
        if (f0 < 10 && f1 < 10) {
            v = v * 100 + f0 * 10 + f1;
            *out = negative ? -v : v;
            *pp = p + 4;
            return 1;
        }
    }
    if (!take_plain_string(pp, end, &s, &n)) return 0;
    return cb_parse_size((const char *)s, n, out) == CB_OK;
}

/* The ticker string: plain bytes up to the closing quote, copied into r->ticker. With SSE2 the
 * scan and the copy go 16 bytes at a time (a copy may run past the quote, inside r->ticker:
 * only ticker_len bytes of it mean anything). */
static CB_ALWAYS_INLINE int take_ticker(const unsigned char **pp, const unsigned char *end, cb_frame_t *r) {
    const unsigned char *q;
    size_t n;
#ifdef CB_SSE2
    const unsigned char *s = *pp;
    size_t off;
    for (off = 0; off + 16 <= CB_TICKER_MAX && end - (s + off) >= 16; off += 16) {
        unsigned m = special_mask16(s + off);
        memcpy(r->ticker + off, s + off, 16);
        if (m) {
            n = off + (size_t)__builtin_ctz(m);
            if (s[n] != '"' || n == 0) return 0;
            r->ticker_len = n;
            *pp = s + n + 1;
            return 1;
        }
    }
#endif
    if (!take_plain_string(pp, end, &q, &n) || n == 0 || n > CB_TICKER_MAX) return 0;
    memcpy(r->ticker, q, n);
    r->ticker_len = n;
    return 1;
}

#if defined(__GNUC__) || defined(__clang__)
#define CB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CB_UNLIKELY(x) (x)
#endif

static int canonical_delta(const unsigned char *base, size_t len, cb_frame_t *r) {
    const unsigned char *p = base, *end = base + len, *s;
    size_t n;
    int64_t sid, seq, ts_ms = 0, delta;
    int32_t price;
    uint32_t have = CB_HAVE_TYPE | CB_HAVE_SID | CB_HAVE_SEQ | CB_HAVE_MSG | CB_HAVE_TICKER |
                    CB_HAVE_PRICE | CB_HAVE_DELTA | CB_HAVE_SIDE;
    int side;
    if (!take(&p, end, LIT("{\"type\":\"orderbook_delta\",\"sid\":"))) return 0;
    if (CB_UNLIKELY(!take_int(&p, base, end, &sid) || !take(&p, end, LIT(",\"seq\":")))) return 0;
    if (CB_UNLIKELY(!take_int(&p, base, end, &seq) || !take(&p, end, LIT(",\"msg\":{\"market_ticker\":\""))))
        return 0;
    if (CB_UNLIKELY(!take_ticker(&p, end, r))) return 0;
    if (take(&p, end, LIT(",\"market_id\":\""))) {
        if (CB_UNLIKELY(!take_plain_string(&p, end, &s, &n))) return 0;
        have |= CB_HAVE_MARKET_ID;
    }
    if (CB_UNLIKELY(!take(&p, end, LIT(",\"price_dollars\":\"")) || !take_price(&p, end, &price))) return 0;
    if (CB_UNLIKELY(!take(&p, end, LIT(",\"delta_fp\":\"")) || !take_size(&p, end, &delta))) return 0;
    if (take(&p, end, LIT(",\"side\":\"yes\""))) side = 0;
    else if (take(&p, end, LIT(",\"side\":\"no\""))) side = 1;
    else return 0;
    if (take(&p, end, LIT(",\"ts\":\"")) && !take_plain_string(&p, end, &s, &n)) return 0;
    if (take(&p, end, LIT(",\"ts_ms\":"))) {
        if (CB_UNLIKELY(!take_int(&p, base, end, &ts_ms))) return 0;
        have |= CB_HAVE_TS_MS;
    }
    if (CB_UNLIKELY(!take(&p, end, LIT("}}")) || p != end)) return 0;
    /* every field, as reset() and the general parser would leave them */
    r->kind = CB_KIND_DELTA;
    r->err = CB_FE_NONE;
    r->err_field = "";
    r->err_pos = 0;
    r->have = have;
    r->sid = sid;
    r->seq = seq;
    r->id = 0;
    r->type_pos = 9;
    r->type_len = 15;
    r->side = side;
    r->price_bp = price;
    r->delta = delta;
    r->ts_ms = ts_ms;
    r->subaccount = 0;
    r->client_order_id_len = 0;
    r->level_count[0] = r->level_count[1] = 0;
    r->unknown_keys = 0;
    return 1;
}

static void reset(cb_frame_t *r) {
    r->kind = CB_KIND_NONE;
    r->err = CB_FE_NONE;
    r->err_field = "";
    r->err_pos = 0;
    r->have = 0;
    r->sid = r->seq = r->id = 0;
    r->type_pos = r->type_len = 0;
    r->ticker_len = 0;
    r->side = -1;
    r->price_bp = 0;
    r->delta = 0;
    r->ts_ms = 0;
    r->subaccount = 0;
    r->client_order_id_len = 0;
    r->level_count[0] = r->level_count[1] = 0;
    r->unknown_keys = 0;
}

int cb_frame_parse(const char *buf, size_t len, cb_frame_t *r) {
    /* the shortcut sets every field itself; the general parser resets them first */
    if (canonical_delta((const unsigned char *)buf, len, r)) return CB_FE_NONE;
    return cb_frame_parse_general(buf, len, r);
}

int cb_frame_parse_general(const char *buf, size_t len, cb_frame_t *r) {
    cursor_t c;
    env_ctx_t ctx = {0, NULL};
    c.base = (const unsigned char *)buf;
    c.p = c.base;
    c.end = c.base + len;
    c.r = r;
    reset(r);
    skip_ws(&c);
    if (c.p >= c.end) return hard_error(&c, CB_FE_TRUNCATED, "", c.end), r->err;
    if (*c.p != '{') {
        /* still tell JSON from not-JSON */
        if (skip_value(&c, 0) == 0) {
            skip_ws(&c);
            if (c.p < c.end) hard_error(&c, CB_FE_TRAILING, "", c.p);
            else hard_error(&c, CB_FE_NOT_OBJECT, "", c.base);
        }
        return r->err;
    }
    if (walk_object(&c, 0, envelope_member, &ctx)) return r->err;
    skip_ws(&c);
    if (c.p < c.end) return hard_error(&c, CB_FE_TRAILING, "", c.p), r->err;

    if (!(ctx.seen & (1u << K_TYPE))) {
        soft_error(&c, CB_FE_MISSING, "type", c.base);
        return r->err;
    }
    if (r->kind == CB_KIND_SNAPSHOT || r->kind == CB_KIND_DELTA) {
        if (ctx.msg_at != NULL) {
            cursor_t m = c;
            m.p = ctx.msg_at;
            if (parse_book_msg(&m)) return r->err;
        }
        if (!(ctx.seen & (1u << K_SID))) soft_error(&c, CB_FE_MISSING, "sid", c.base);
        else if (!(ctx.seen & (1u << K_SEQ))) soft_error(&c, CB_FE_MISSING, "seq", c.base);
        else if (!(ctx.seen & (1u << K_MSG))) soft_error(&c, CB_FE_MISSING, "msg", c.base);
    }
    return r->err;
}

/* ------------------------------------------------------------------ the market of a msg */

typedef struct {
    char *out;
    size_t cap, n;
    int found;
} msg_market_t;

static int msg_market_member(cursor_t *c, const span_t *key, void *ctx_) {
    msg_market_t *m = (msg_market_t *)ctx_;
    span_t sp;
    if (key->escaped || key->n != 13 || memcmp(key->s, "market_ticker", 13) != 0 || *c->p != '"')
        return skip_value(c, 2);
    if (scan_string(c, &sp)) return FATAL;
    m->found++;
    m->n = 0;
    if (!sp.escaped && sp.n > 0 && sp.n <= m->cap) {
        memcpy(m->out, sp.s, sp.n);
        m->n = sp.n;
    }
    return 0;
}

static int msg_envelope_member(cursor_t *c, const span_t *key, void *ctx_) {
    if (!key->escaped && key->n == 3 && memcmp(key->s, "msg", 3) == 0 && *c->p == '{')
        return walk_object(c, 1, msg_market_member, ctx_);
    return skip_value(c, 1);
}

size_t cb_frame_msg_market(const char *buf, size_t len, char *out, size_t cap) {
    cursor_t c;
    cb_frame_t scratch;   /* where a syntax error would be recorded; nothing else is read */
    msg_market_t m = {out, cap, 0, 0};
    reset(&scratch);
    c.base = (const unsigned char *)buf;
    c.p = c.base;
    c.end = c.base + len;
    c.r = &scratch;
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{') return 0;
    if (walk_object(&c, 0, msg_envelope_member, &m)) return 0;
    return m.found == 1 ? m.n : 0;
}

static const char *err_names[] = {
    "", "truncated", "syntax", "utf8", "depth", "trailing", "not_object", "duplicate_key", "type",
    "missing", "integer", "price", "size", "side", "ticker", "too_long", "level", "too_many_levels",
    "legacy",
};

static const char *err_texts[] = {
    "",
    "the frame ends inside a JSON value (truncated)",
    "not valid JSON",
    "a string is not valid UTF-8 or holds a lone surrogate escape",
    "JSON nested too deeply",
    "bytes after the JSON value",
    "not a JSON object",
    "a field appears twice",
    "a field has the wrong JSON type",
    "a required field is missing",
    "not a non-negative integer of at most 18 digits",
    "not a price of $0 to $1 with at most 4 decimals",
    "not a size with at most 2 decimals",
    "side must be \"yes\" or \"no\"",
    "market_ticker is empty or longer than 128 bytes",
    "string longer than 128 bytes",
    "a snapshot level must be a [price, size] pair of decimal strings",
    "more levels than a book has prices",
    "legacy integer-cent orderbook format (before 2026-03-12), not supported",
};

const char *cb_frame_err_name(int err) {
    return (err >= 0 && err < CB_FE_COUNT) ? err_names[err] : "unknown";
}

const char *cb_frame_err_text(int err) {
    return (err >= 0 && err < CB_FE_COUNT) ? err_texts[err] : "unknown error";
}
