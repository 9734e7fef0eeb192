# The C-level contract of the frame decoder and the books registry: the C parser of
# csrc/cb_frame.h, and the Books class layout so that a Cython feed can call apply_frame_c
# without Python overhead.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from cpython.object cimport PyObject

cimport cython

from centbook.book cimport OrderBook
from centbook.grid cimport PriceGrid


cdef extern from "cb_frame.h" nogil:
    enum:
        CB_TICKER_MAX
        CB_COID_MAX
        CB_FRAME_MAX_LEVELS
    ctypedef enum cb_kind_t:
        CB_KIND_NONE
        CB_KIND_UNKNOWN
        CB_KIND_SNAPSHOT
        CB_KIND_DELTA
        CB_KIND_SUBSCRIBED
        CB_KIND_UNSUBSCRIBED
        CB_KIND_OK
        CB_KIND_ERROR
        CB_KIND_COUNT
    ctypedef enum cb_frame_err_t:
        CB_FE_NONE
        CB_FE_COUNT
    enum:
        CB_HAVE_TYPE
        CB_HAVE_SID
        CB_HAVE_SEQ
        CB_HAVE_ID
        CB_HAVE_MSG
        CB_HAVE_TICKER
        CB_HAVE_PRICE
        CB_HAVE_DELTA
        CB_HAVE_SIDE
        CB_HAVE_TS_MS
        CB_HAVE_COID
        CB_HAVE_SUBACCOUNT
        CB_HAVE_YES
        CB_HAVE_NO
        CB_HAVE_MARKET_ID
    ctypedef struct cb_frame_t:
        int32_t *level_price_bp[2]
        int64_t *level_size[2]
        size_t level_cap
        cb_kind_t kind
        cb_frame_err_t err
        const char *err_field
        size_t err_pos
        uint32_t have
        int64_t sid
        int64_t seq
        int64_t id
        size_t type_pos
        size_t type_len
        char ticker[128]
        size_t ticker_len
        int side
        int32_t price_bp
        int64_t delta
        int64_t ts_ms
        int64_t subaccount
        char client_order_id[128]
        size_t client_order_id_len
        size_t level_count[2]
        uint32_t unknown_keys
    int cb_frame_parse(const char *buf, size_t len, cb_frame_t *r)
    int cb_frame_parse_general(const char *buf, size_t len, cb_frame_t *r)
    const char *cb_frame_err_name(int err)
    const char *cb_frame_err_text(int err)
    const char *cb_kind_name(int kind)
    uint64_t cb_hash_bytes(const char *s, size_t n)
    uint64_t cb_hash_padded(const char *s, size_t n)
    bint cb_padded_eq(const char *a, const char *b, size_t n)


# Decode-error reasons beyond the parser's cb_frame_err_t (0..CB_FE_COUNT-1): the registry's own
# (CB_R_UNKNOWN_MARKET) and the book's refusals (CB_R_BOOK + cb_apply_t).
cdef enum:
    CB_R_UNKNOWN_MARKET = 30
    CB_R_BOOK = 32
    CB_R_COUNT = 48

# apply_frame_c's result for a frame that was refused.
cdef enum:
    CB_FRAME_INVALID = -1


cdef struct cb_market_t:
    uint64_t hash
    PyObject *book          # borrowed: Books._book_list owns the reference
    int64_t sid             # the subscription that last delivered this market (-1: none yet)
    uint8_t needs_snapshot  # reported by take_resync()
    uint32_t ticker_len
    char ticker[128]


cdef struct cb_subscription_t:
    int64_t sid
    int64_t last_seq
    uint8_t has_seq
    uint8_t use_yes_price


@cython.final
cdef class Books:
    cdef cb_frame_t _frame
    cdef int32_t *_prices_buf
    cdef int64_t *_sizes_buf
    cdef cb_market_t *_markets
    cdef Py_ssize_t _nmarkets, _cap_markets
    cdef int32_t *_table           # open addressing: market index + 1, 0 = free
    cdef Py_ssize_t _table_mask
    cdef cb_subscription_t *_subs
    cdef Py_ssize_t _nsubs, _cap_subs
    cdef list _book_list
    cdef readonly PriceGrid default_grid
    cdef readonly bint auto_create
    cdef readonly bint raise_errors
    cdef bint _resync_pending
    # registry index of the market of the last frame applied to a book (-1: none)
    cdef Py_ssize_t _last_market
    # counters
    cdef int64_t _frames, _snapshots, _deltas, _errors, _gaps, _unknown_types, _other, _unknown_fields
    cdef int64_t _by_reason[48]
    cdef int64_t _by_kind[32]
    # the last error, kept as C data so the frame can be gone when it is read
    cdef int _err_reason
    cdef int64_t _err_pos
    cdef int64_t _err_frame_len
    cdef const char *_err_field
    cdef int _err_kind
    cdef char _err_ticker[128]
    cdef Py_ssize_t _err_ticker_len
    cdef char _err_bytes[96]
    cdef Py_ssize_t _err_bytes_len
    cdef int64_t _err_bytes_start
    cdef int64_t _err_seq_sid

    cdef int apply_frame_c(self, const char *buf, size_t n) except -2
    cdef Py_ssize_t _find(self, const char *ticker, size_t n, uint64_t h) noexcept nogil
    cdef Py_ssize_t _find_key(self, bytes key) noexcept
    cdef Py_ssize_t _insert(self, object ticker_bytes, object book) except -1
    cdef Py_ssize_t _index(self, ticker) except -2
    cdef cb_subscription_t *_sub(self, int64_t sid) except NULL
    cdef void _mark_sid(self, int64_t sid, int state) noexcept

    # The book of a registry index (as a ReadHook's ``changed`` gives them), for C callers.
    cdef inline OrderBook book_at_c(self, Py_ssize_t index):
        return <OrderBook>self._book_list[index]
    cdef int _track(self, cb_subscription_t *sub, int64_t seq, int kind) except -1
    cdef int _fail(self, int reason, const char *buf, size_t n) except -2
