/* A deterministic mutation fuzzer for cb_frame_parse, meant to run under
 * -fsanitize=address,undefined (see `make fuzz-smoke` and `make fuzz`).
 *
 *   fuzz_frame SEEDS_FILE ITERATIONS [RNG_SEED]
 *
 * SEEDS_FILE holds one frame per line (real frames: the spec examples and capture excerpts).
 * Each iteration takes a corpus entry, applies 1 to 8 random mutations (bit flips, byte
 * changes, insertions and deletions, JSON tokens, splices with another entry, truncation), copies
 * the result into a buffer of exactly its length (so a read past the end is an ASan error) and
 * parses it twice with level arrays of a random small or full capacity. It checks the parser's
 * invariants; inputs that parse cleanly or reach a new (kind, error, field) are kept in the
 * corpus so mutations go deeper. Exit status 0 = every input ran clean.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cb_frame.h"

#define MAX_INPUT 65536
#define MAX_CORPUS 4096

static uint64_t rng_state;

static uint64_t rnd(void) {
    /* splitmix64: deterministic for a given seed, on every platform */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

typedef struct {
    unsigned char *data;
    size_t len;
} entry_t;

static entry_t corpus[MAX_CORPUS];
static size_t corpus_n;
static size_t corpus_seeds;

static void corpus_add(const unsigned char *data, size_t len) {
    size_t slot;
    unsigned char *copy;
    if (corpus_n < MAX_CORPUS) {
        slot = corpus_n++;
    } else {
        /* replace a random non-seed entry */
        slot = corpus_seeds + below(MAX_CORPUS - corpus_seeds);
        free(corpus[slot].data);
    }
    copy = malloc(len ? len : 1);
    if (!copy) abort();
    memcpy(copy, data, len);
    corpus[slot].data = copy;
    corpus[slot].len = len;
}

static const char *tokens[] = {
    "\"", "\\", "\\u", "\\u00", "\\ud83d", "\\ude00", "\\ud800", "{", "}", "[", "]", ",", ":", "-", "+",
    "0", "1", "9", ".", "e", "E", "e+9", "null", "true", "false", " ", "\n", "\t", "\x01", "\xc3",
    "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\xff", "\xed\xa0\x80", "\"type\":", "\"sid\":", "\"seq\":",
    "\"id\":", "\"msg\":", "\"market_ticker\":", "\"price_dollars\":", "\"delta_fp\":", "\"side\":",
    "\"yes_dollars_fp\":", "\"no_dollars_fp\":", "\"orderbook_delta\"", "\"orderbook_snapshot\"",
    "\"yes\"", "\"no\"", "\"0.5000\"", "\"1.0001\"", "\"-54.00\"", "99999999999999999999",
    "[[\"0.5\",\"1\"]]", "{\"a\":[{\"b\":[]}]}", "\"client_order_id\":", "\"subaccount\":", "\"ts_ms\":",
    "\"price\":", "\"delta\":",
};

static size_t mutate(unsigned char *buf, size_t len) {
    int rounds = 1 + (int)below(8), r;
    for (r = 0; r < rounds; r++) {
        switch (below(10)) {
        case 0: /* flip a bit */
            if (len) buf[below(len)] ^= (unsigned char)(1u << below(8));
            break;
        case 1: /* set a random byte */
            if (len) buf[below(len)] = (unsigned char)rnd();
            break;
        case 2: /* insert a random byte */
            if (len < MAX_INPUT - 1) {
                size_t at = below(len + 1);
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (unsigned char)rnd();
                len++;
            }
            break;
        case 3: /* delete a range */
            if (len) {
                size_t at = below(len), n = 1 + below(len - at < 16 ? len - at : 16);
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        case 4: /* truncate */
            len = below(len + 1);
            break;
        case 5:
        case 6: { /* insert a JSON token */
            const char *t = tokens[below(sizeof tokens / sizeof tokens[0])];
            size_t tn = strlen(t), at = below(len + 1);
            if (len + tn < MAX_INPUT) {
                memmove(buf + at + tn, buf + at, len - at);
                memcpy(buf + at, t, tn);
                len += tn;
            }
            break;
        }
        case 7: { /* duplicate a range */
            if (len) {
                size_t at = below(len), n = 1 + below(len - at < 64 ? len - at : 64), to = below(len + 1);
                if (len + n < MAX_INPUT) {
                    unsigned char tmp[64];
                    memcpy(tmp, buf + at, n);
                    memmove(buf + to + n, buf + to, len - to);
                    memcpy(buf + to, tmp, n);
                    len += n;
                }
            }
            break;
        }
        case 8: { /* splice: our prefix + another entry's suffix */
            const entry_t *o = &corpus[below(corpus_n)];
            size_t keep = below(len + 1), from = below(o->len + 1), n = o->len - from;
            if (keep + n < MAX_INPUT) {
                memcpy(buf + keep, o->data + from, n);
                len = keep + n;
            }
            break;
        }
        default: /* change a digit */
            if (len) {
                size_t at = below(len);
                if (buf[at] >= '0' && buf[at] <= '9') buf[at] = (unsigned char)('0' + below(10));
                else buf[at] = (unsigned char)"0123456789.-e\""[below(14)];
            }
            break;
        }
    }
    return len;
}

static void fail(const char *what, const unsigned char *data, size_t len) {
    size_t i;
    fprintf(stderr, "fuzz_frame: invariant broken: %s\ninput (%zu bytes): ", what, len);
    for (i = 0; i < len; i++) fprintf(stderr, "%02x", data[i]);
    fprintf(stderr, "\n");
    abort();
}

/* Parse with level arrays of exactly `cap` entries per side (heap: ASan sees an overflow). */
static void run(const unsigned char *data, size_t len, size_t cap, cb_frame_t *r) {
    int32_t *p0 = malloc((cap ? cap : 1) * sizeof(int32_t)), *p1 = malloc((cap ? cap : 1) * sizeof(int32_t));
    int64_t *s0 = malloc((cap ? cap : 1) * sizeof(int64_t)), *s1 = malloc((cap ? cap : 1) * sizeof(int64_t));
    unsigned char *copy = malloc(len ? len : 1);
    if (!p0 || !p1 || !s0 || !s1 || !copy) abort();
    memcpy(copy, data, len);
    r->level_price_bp[0] = p0;
    r->level_price_bp[1] = p1;
    r->level_size[0] = s0;
    r->level_size[1] = s1;
    r->level_cap = cap;
    cb_frame_parse((const char *)copy, len, r);
    {
        /* the shortcut for compact deltas must agree with the general parser, field by field */
        cb_frame_t g = *r;
        cb_frame_parse_general((const char *)copy, len, &g);
        if (g.err != r->err || g.kind != r->kind || g.have != r->have || g.sid != r->sid || g.seq != r->seq
            || g.id != r->id || g.err_pos != r->err_pos || g.ticker_len != r->ticker_len
            || g.unknown_keys != r->unknown_keys
            || memcmp(g.ticker, r->ticker, r->ticker_len) != 0)
            fail("shortcut and general parser disagree", data, len);
        if (r->err == CB_FE_NONE && r->kind == CB_KIND_DELTA
            && (g.side != r->side || g.price_bp != r->price_bp || g.delta != r->delta || g.ts_ms != r->ts_ms
                || g.subaccount != r->subaccount || g.client_order_id_len != r->client_order_id_len
                || g.type_pos != r->type_pos || g.type_len != r->type_len))
            fail("shortcut and general parser disagree on the delta", data, len);
    }
    if (r->level_count[0] > cap || r->level_count[1] > cap) fail("level_count > cap", data, len);
    if (r->err == CB_FE_NONE && r->kind == CB_KIND_SNAPSHOT) {
        size_t side, i;
        for (side = 0; side < 2; side++)
            for (i = 0; i < r->level_count[side]; i++)
                if (r->level_price_bp[side][i] < 0 || r->level_price_bp[side][i] > 10000)
                    fail("snapshot price out of range", data, len);
    }
    free(p0); free(p1); free(s0); free(s1); free(copy);
}

static void check(const unsigned char *data, size_t len, cb_frame_t *r) {
    if ((int)r->err < 0 || r->err >= CB_FE_COUNT) fail("err out of range", data, len);
    if ((int)r->kind < 0 || r->kind >= CB_KIND_COUNT) fail("kind out of range", data, len);
    if (r->err_pos > len) fail("err_pos beyond the input", data, len);
    if (r->err_field == NULL) fail("err_field NULL", data, len);
    if (strlen(cb_frame_err_name(r->err)) == 0 && r->err) fail("unnamed error", data, len);
    if (r->have & CB_HAVE_TYPE && r->type_pos + r->type_len > len) fail("type span beyond input", data, len);
    if (r->ticker_len > CB_TICKER_MAX || r->client_order_id_len > CB_COID_MAX) fail("string length", data, len);
    /* the registry's word-wise hash and compare must equal the byte-wise definitions */
    if (cb_hash_padded(r->ticker, r->ticker_len) != cb_hash_bytes(r->ticker, r->ticker_len)
        || !cb_padded_eq(r->ticker, r->ticker, r->ticker_len))
        fail("cb_hash_padded differs from cb_hash_bytes", data, len);
    if (r->err == CB_FE_NONE) {
        if (!(r->have & CB_HAVE_TYPE)) fail("success without a type", data, len);
        if (r->kind == CB_KIND_DELTA) {
            uint32_t need = CB_HAVE_TICKER | CB_HAVE_PRICE | CB_HAVE_DELTA | CB_HAVE_SIDE | CB_HAVE_SID | CB_HAVE_SEQ;
            if ((r->have & need) != need) fail("delta without its fields", data, len);
            if (r->price_bp < 0 || r->price_bp > 10000) fail("price out of range", data, len);
            if (r->side != 0 && r->side != 1) fail("bad side", data, len);
        }
        if ((r->kind == CB_KIND_DELTA || r->kind == CB_KIND_SNAPSHOT) && (r->ticker_len == 0))
            fail("empty ticker", data, len);
    }
    if (r->sid < 0 || r->seq < 0 || r->id < 0) fail("negative integer", data, len);
}

int main(int argc, char **argv) {
    FILE *fh;
    static unsigned char line[MAX_INPUT], buf[MAX_INPUT];
    long long iterations, i, clean = 0;
    static unsigned char seen[CB_KIND_COUNT][CB_FE_COUNT][64];
    cb_frame_t r1, r2;
    if (argc < 3) {
        fprintf(stderr, "usage: %s SEEDS_FILE ITERATIONS [RNG_SEED]\n", argv[0]);
        return 2;
    }
    iterations = atoll(argv[2]);
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    fh = fopen(argv[1], "rb");
    if (!fh) {
        perror(argv[1]);
        return 2;
    }
    while (fgets((char *)line, sizeof line, fh)) {
        size_t n = strlen((char *)line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (n) corpus_add(line, n);
    }
    fclose(fh);
    corpus_seeds = corpus_n;
    if (corpus_n == 0) {
        fprintf(stderr, "no seeds in %s\n", argv[1]);
        return 2;
    }
    /* every seed as is, at full capacity */
    for (i = 0; i < (long long)corpus_seeds; i++) {
        run(corpus[i].data, corpus[i].len, CB_FRAME_MAX_LEVELS, &r1);
        check(corpus[i].data, corpus[i].len, &r1);
    }
    for (i = 0; i < iterations; i++) {
        const entry_t *e = &corpus[below(corpus_n)];
        size_t len = e->len, cap, field_slot;
        memcpy(buf, e->data, len);
        len = mutate(buf, len);
        cap = below(4) == 0 ? CB_FRAME_MAX_LEVELS : below(6);
        run(buf, len, cap, &r1);
        check(buf, len, &r1);
        run(buf, len, cap, &r2);
        if (r1.err != r2.err || r1.kind != r2.kind || r1.have != r2.have || r1.err_pos != r2.err_pos)
            fail("not deterministic", buf, len);
        if (r1.err == CB_FE_NONE) clean++;
        field_slot = (size_t)(cb_hash_bytes(r1.err_field, strlen(r1.err_field)) & 63);
        if (r1.err == CB_FE_NONE ? below(64) == 0 : !seen[r1.kind][r1.err][field_slot]) {
            seen[r1.kind][r1.err][field_slot] = 1;
            corpus_add(buf, len);
        }
    }
    printf("fuzz_frame: %lld inputs ran clean under the sanitizers (%lld parsed without error, corpus %zu)\n",
           iterations + (long long)corpus_seeds, clean, corpus_n);
    return 0;
}
