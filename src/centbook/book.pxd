# The C-level contract of the order book: class layout, kernels and states. Cython code (the
# frame decoder, a strategy written in Cython) cimports this to call the book without Python.
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint64_t

cimport cython
from cpython.object cimport PyObject

from centbook.grid cimport PriceGrid


# Book validity. Transitions (set_state / the feed):
#   EMPTY   -> SYNCING, STALE, FAULTED
#   SYNCING -> GAPPED, STALE, FAULTED
#   LIVE    -> SYNCING, GAPPED, STALE, FAULTED
#   GAPPED  -> SYNCING, STALE, FAULTED
#   STALE   -> SYNCING, FAULTED
#   FAULTED -> SYNCING
# plus, from every state: -> LIVE only by a good snapshot, -> EMPTY only by clear(),
# -> FAULTED by a bad snapshot or delta. Deltas apply in LIVE, GAPPED and STALE; in EMPTY and
# SYNCING (no base yet) a delta faults the book; a FAULTED book refuses deltas.
ctypedef enum cb_book_state_t:
    CB_BOOK_EMPTY = 0
    CB_BOOK_SYNCING = 1
    CB_BOOK_LIVE = 2
    CB_BOOK_GAPPED = 3
    CB_BOOK_STALE = 4
    CB_BOOK_FAULTED = 5

# Kernel results: CB_APPLIED or the reason the book refused (every reason but CB_REFUSED_FAULTED
# also moves the book to FAULTED; none of them changes a level).
ctypedef enum cb_apply_t:
    CB_APPLIED = 0
    CB_REFUSED_FAULTED = 1      # the book was already FAULTED
    CB_FAULT_NO_SNAPSHOT = 2    # a delta before any snapshot (EMPTY or SYNCING)
    CB_FAULT_OFF_GRID = 3       # price not on the side's grid (or outside 0..10000)
    CB_FAULT_NEGATIVE = 4       # the level would go below zero
    CB_FAULT_OVERFLOW = 5       # the level would overflow int64
    CB_FAULT_DUPLICATE = 6      # a snapshot lists a price twice
    CB_FAULT_BAD_SIDE = 7       # side not 0 (YES) or 1 (NO)
    CB_FAULT_BAD_VALUE = 8      # a snapshot level that is not a (price, size) pair of decimals
    CB_FAULT_EXTERNAL = 9       # faulted by its owner (the feed: a bad frame for this market)

# Largest slot count of any grid (a 1 bp grid) and its bitmap size in 64-bit words.
cdef enum:
    CB_MAX_SLOTS = 10001
    CB_MAX_WORDS = 157
    CB_MAX_SUMMARY = 3


@cython.final
cdef class OrderBook:
    cdef readonly str ticker
    cdef readonly PriceGrid grid
    cdef readonly int64_t generation
    cdef public int64_t last_seq
    cdef cb_book_state_t _state
    cdef int32_t _tick
    cdef int32_t _nslots
    cdef int32_t _nwords
    cdef const int16_t *_slot_of[2]    # the grid's price -> slot tables (shared, read-only)
    cdef int64_t *_levels[2]           # size per slot, in hundredths; NumPy owns the memory
    cdef uint64_t *_bits[2]            # occupancy: bit s set <=> _levels[side][s] > 0
    cdef uint64_t _summary[2][3]       # bit w set <=> _bits[side][w] != 0
    cdef int32_t _best[2]              # slot of the best bid per side, -1 when the side is empty
    cdef int64_t _total[2]
    cdef uint8_t _bid_dirty[2]         # cached best-bid tuple must be rebuilt
    cdef uint8_t _ask_dirty[2]
    # cached best-level tuples (owned references, NULL while the side is empty): cb_top_set
    cdef PyObject *_bid_cache_yes
    cdef PyObject *_bid_cache_no
    cdef PyObject *_ask_cache_yes
    cdef PyObject *_ask_cache_no
    cdef object _arrays                # (yes, no) NumPy int64 arrays
    # the last fault, for the error message
    cdef cb_apply_t _fault_code
    cdef int32_t _fault_side
    cdef int32_t _fault_price_bp
    cdef int64_t _fault_amount
    cdef int64_t _fault_count

    cdef int _install(self, PriceGrid grid) except -1
    cdef void _mark_all_dirty(self) noexcept nogil
    cdef _snapshot(self, yes, no, bint strings)

    cdef cb_apply_t apply_delta_c(self, int side, int32_t price_bp, int64_t delta,
                                  int64_t *new_size) noexcept nogil
    cdef cb_apply_t load_snapshot_c(self, const int32_t *yes_prices, const int64_t *yes_sizes,
                                    Py_ssize_t n_yes, const int32_t *no_prices,
                                    const int64_t *no_sizes, Py_ssize_t n_no) noexcept nogil
    cdef int set_state_c(self, cb_book_state_t state) noexcept nogil
    cdef void fault_c(self, cb_apply_t code, int side, int32_t price_bp, int64_t amount) noexcept nogil
    cdef int32_t best_slot_below(self, int side, int32_t slot) noexcept nogil

    # Best prices for C callers: basis points, or -1 when the side is empty.
    cdef inline int32_t best_bid_bp_c(self, int side) noexcept nogil:
        cdef int32_t s = self._best[side]
        return s * self._tick if s >= 0 else -1

    cdef inline int64_t best_bid_size_c(self, int side) noexcept nogil:
        cdef int32_t s = self._best[side]
        return self._levels[side][s] if s >= 0 else 0

    cdef inline cb_book_state_t state_c(self) noexcept nogil:
        return self._state

    # Levels by slot for C callers walking down from the top (with best_slot_below): the best
    # slot of a side (-1: empty), the size at a slot, and the slot's price on that side's bid axis.
    cdef inline int32_t best_slot_c(self, int side) noexcept nogil:
        return self._best[side]

    cdef inline int64_t slot_size_c(self, int side, int32_t slot) noexcept nogil:
        return self._levels[side][slot]

    cdef inline int32_t slot_price_bp_c(self, int32_t slot) noexcept nogil:
        return slot * self._tick
