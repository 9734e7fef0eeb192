/* The Kalshi WebSocket frame parser: one pass over a JSON text frame, no allocation, no Python.
 *
 * cb_frame_parse() validates the whole frame as strict JSON (RFC 8259, UTF-8) and extracts what
 * the order-book fast path needs: the message type, sid, seq and id of the envelope, and for
 * `orderbook_snapshot` / `orderbook_delta` the market ticker, the level(s), ts_ms,
 * client_order_id and subaccount, already converted to centbook's integer units (prices in basis
 * points, sizes in hundredths of a contract). Every other message type is validated and
 * classified but its body is not read: the typed decoder (centbook.messages) does that.
 *
 * Tolerant where the protocol is loose: keys in any order, any whitespace, unknown keys with any
 * JSON value (nested to CB_FRAME_MAX_DEPTH), `market_id` present or absent, integers as numbers
 * or digit strings, prices and sizes as strings or plain decimal numbers, an omitted or empty
 * side of a snapshot, 0-4 decimal prices, JSON escapes in every string.
 *
 * Strict where correctness needs it: invalid or truncated JSON, a wrong JSON type, an unknown
 * side, a malformed or out-of-range number, an overlong ticker, a duplicated key that the parser
 * reads: the result says why (`err`, `err_field`, `err_pos`). Not supported (reported as errors):
 * numbers with an exponent in the fields read, lone UTF-16 surrogate escapes anywhere, the legacy
 * integer-cent orderbook format (before 2026-03-12), input that is not UTF-8.
 *
 * Memory: the parser reads only buf[0..len) and writes only the result struct and the level
 * arrays the caller lends it (at most `level_cap` entries per side). It never needs a NUL
 * terminator. Semantic errors (a bad value in a well-formed frame) do not stop the scan, so sid,
 * seq and the ticker are still extracted when they are readable; syntax errors stop it.
 */
#ifndef CB_FRAME_H
#define CB_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CB_TICKER_MAX 128          /* bytes of UTF-8; Kalshi tickers are far shorter */
#define CB_COID_MAX 128            /* bytes of a client_order_id */
#define CB_FRAME_MAX_DEPTH 64      /* nesting of unknown values */
#define CB_FRAME_MAX_LEVELS 10001  /* distinct prices on a 1 bp grid */

/* Message kinds: the `type` of a server message. Values are stable (exposed to Python). */
typedef enum {
    CB_KIND_NONE = 0,              /* no readable type */
    CB_KIND_UNKNOWN = 1,           /* a type this build does not know */
    CB_KIND_SNAPSHOT = 2,
    CB_KIND_DELTA = 3,
    CB_KIND_SUBSCRIBED = 4,
    CB_KIND_UNSUBSCRIBED = 5,
    CB_KIND_OK = 6,
    CB_KIND_ERROR = 7,
    CB_KIND_TICKER = 8,
    CB_KIND_TRADE = 9,
    CB_KIND_FILL = 10,
    CB_KIND_MARKET_POSITION = 11,
    CB_KIND_USER_ORDER = 12,
    CB_KIND_ORDER_GROUP_UPDATES = 13,
    CB_KIND_MARKET_LIFECYCLE_V2 = 14,
    CB_KIND_MULTIVARIATE_MARKET_LIFECYCLE = 15,
    CB_KIND_EVENT_LIFECYCLE = 16,
    CB_KIND_EVENT_FEE_UPDATE = 17,
    CB_KIND_RFQ_CREATED = 18,
    CB_KIND_RFQ_DELETED = 19,
    CB_KIND_QUOTE_CREATED = 20,
    CB_KIND_QUOTE_ACCEPTED = 21,
    CB_KIND_QUOTE_EXECUTED = 22,
    CB_KIND_CFBENCHMARKS_VALUE = 23,
    CB_KIND_CFBENCHMARKS_INDEXLIST = 24,
    CB_KIND_PYTH_VALUE = 25,
    CB_KIND_PYTH_UNDERLYING_LIST = 26,
    CB_KIND_COUNT = 27
} cb_kind_t;

/* Why a frame was refused. Values are stable (exposed to Python as reasons). */
typedef enum {
    CB_FE_NONE = 0,
    CB_FE_TRUNCATED = 1,     /* the input ends inside the JSON value */
    CB_FE_SYNTAX = 2,        /* not JSON */
    CB_FE_UTF8 = 3,          /* a string is not valid UTF-8 (or has a lone surrogate escape) */
    CB_FE_DEPTH = 4,         /* nested deeper than CB_FRAME_MAX_DEPTH */
    CB_FE_TRAILING = 5,      /* bytes after the JSON value */
    CB_FE_NOT_OBJECT = 6,    /* the frame (or msg of an orderbook message) is not an object */
    CB_FE_DUPLICATE_KEY = 7, /* a key the parser reads appears twice */
    CB_FE_TYPE = 8,          /* a field has the wrong JSON type */
    CB_FE_MISSING = 9,       /* a required field is absent */
    CB_FE_INTEGER = 10,      /* an integer field is not a non-negative integer in range */
    CB_FE_PRICE = 11,        /* a price is not a $0..$1 decimal with at most 4 decimals */
    CB_FE_SIZE = 12,         /* a size is not a decimal with at most 2 decimals */
    CB_FE_SIDE = 13,         /* side is neither "yes" nor "no" */
    CB_FE_TICKER = 14,       /* market_ticker empty or longer than CB_TICKER_MAX bytes */
    CB_FE_TOO_LONG = 15,     /* client_order_id longer than CB_COID_MAX bytes */
    CB_FE_LEVEL = 16,        /* a snapshot level is not a [price, size] pair */
    CB_FE_TOO_MANY_LEVELS = 17,
    CB_FE_LEGACY = 18,       /* the legacy integer-cent orderbook format */
    CB_FE_COUNT = 19
} cb_frame_err_t;

/* Bits of cb_frame_t.have: which fields were read (and were valid). */
#define CB_HAVE_TYPE (1u << 0)
#define CB_HAVE_SID (1u << 1)
#define CB_HAVE_SEQ (1u << 2)
#define CB_HAVE_ID (1u << 3)
#define CB_HAVE_MSG (1u << 4)
#define CB_HAVE_TICKER (1u << 5)
#define CB_HAVE_PRICE (1u << 6)
#define CB_HAVE_DELTA (1u << 7)
#define CB_HAVE_SIDE (1u << 8)
#define CB_HAVE_TS_MS (1u << 9)
#define CB_HAVE_COID (1u << 10)
#define CB_HAVE_SUBACCOUNT (1u << 11)
#define CB_HAVE_YES (1u << 12)
#define CB_HAVE_NO (1u << 13)
#define CB_HAVE_MARKET_ID (1u << 14)

typedef struct {
    /* lent by the caller: room for level_cap levels per side (0 = YES, 1 = NO) */
    int32_t *level_price_bp[2];
    int64_t *level_size[2];
    size_t level_cap;

    /* outputs */
    cb_kind_t kind;
    cb_frame_err_t err;
    const char *err_field;   /* static name of the field at fault, or "" */
    size_t err_pos;          /* byte offset of the fault in the frame */
    uint32_t have;           /* CB_HAVE_* bits */
    int64_t sid, seq, id;
    size_t type_pos, type_len;  /* the raw `type` string (inside the quotes) in the frame */
    char ticker[CB_TICKER_MAX];
    size_t ticker_len;
    int side;                /* delta: 0 YES, 1 NO */
    int32_t price_bp;        /* delta: as sent (NO-leg or YES-leg, per the subscription) */
    int64_t delta;           /* delta: signed, hundredths of a contract */
    int64_t ts_ms;
    int64_t subaccount;
    char client_order_id[CB_COID_MAX];
    size_t client_order_id_len;
    size_t level_count[2];   /* snapshot: levels stored per side */
    uint32_t unknown_keys;   /* keys not known, in the envelope and in an orderbook msg */
} cb_frame_t;

/* Parse one frame into *r. Returns r->err (CB_FE_NONE on success). A delta in Kalshi's own
 * compact layout takes a shortcut that gives the same result as the general parser. */
int cb_frame_parse(const char *buf, size_t len, cb_frame_t *r);

/* The general parser alone (no shortcut): the reference the shortcut is tested against. */
int cb_frame_parse_general(const char *buf, size_t len, cb_frame_t *r);

/* The `market_ticker` string at the top level of the frame's `msg` object, for the frames whose
 * body cb_frame_parse does not read (lifecycle, ...): copied to out (at most cap bytes, no NUL)
 * and its length returned. 0 when the frame is not a JSON object with such a string, the string
 * is empty, escaped or longer than cap, or it appears more than once (the caller then treats the
 * frame as being about any market). Reads only buf[0..len). */
size_t cb_frame_msg_market(const char *buf, size_t len, char *out, size_t cap);

/* Static English descriptions. */
const char *cb_frame_err_name(int err);   /* short reason key, e.g. "truncated" */
const char *cb_frame_err_text(int err);   /* one sentence */
const char *cb_kind_name(int kind);       /* the wire `type`, "" for NONE/UNKNOWN */

/* The ticker hash of the books registry: 8 bytes per multiply, then a final mix. Tickers are
 * public and short, so this needs to be quick, not resistant to chosen collisions. */
static inline uint64_t cb_hash_mix(uint64_t h, uint64_t w) {
    h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 29);
}

static inline uint64_t cb_hash_final(uint64_t h) {
    h = (h ^ (h >> 32)) * 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

/* The hash state after the whole 8-byte words of s[0..n); *done = the bytes they hold. */
static inline uint64_t cb_hash_words(const char *s, size_t n, size_t *done) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        h = cb_hash_mix(h, w);
    }
    *done = i;
    return h;
}

static inline uint64_t cb_hash_bytes(const char *s, size_t n) {
    size_t i;
    uint64_t h = cb_hash_words(s, n, &i), w;
    if (i < n) {
        w = 0;
        memcpy(&w, s + i, n - i);
        h = cb_hash_mix(h, w);
    }
    return cb_hash_final(h);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The bytes of the word at s that lie before s + k (k = 1..8), the others zero: what a memcpy of k
 * bytes into a zeroed word gives, without the variable-length copy. */
static inline uint64_t cb_word_head(const char *s, size_t k) {
    uint64_t w;
    memcpy(&w, s, 8);
    return w & (~0ULL >> (8 * (8 - k)));
}

/* cb_hash_bytes(s, n) for a string in a buffer readable up to the next multiple of 8 bytes (the
 * ticker arrays of cb_frame_t and of the registry, CB_TICKER_MAX bytes each): same value. */
static inline uint64_t cb_hash_padded(const char *s, size_t n) {
    size_t i;
    uint64_t h = cb_hash_words(s, n, &i);
    if (i < n) h = cb_hash_mix(h, cb_word_head(s + i, n - i));
    return cb_hash_final(h);
}

/* memcmp(a, b, n) == 0 for two such padded buffers, a word at a time. */
static inline int cb_padded_eq(const char *a, const char *b, size_t n) {
    uint64_t x, y;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) return 0;
    }
    return i == n || cb_word_head(a + i, n - i) == cb_word_head(b + i, n - i);
}
#else
static inline uint64_t cb_hash_padded(const char *s, size_t n) { return cb_hash_bytes(s, n); }
static inline int cb_padded_eq(const char *a, const char *b, size_t n) { return memcmp(a, b, n) == 0; }
#endif

#endif /* CB_FRAME_H */
