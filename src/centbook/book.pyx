"""The order book: price levels in fixed NumPy arrays indexed by tick.

One :class:`OrderBook` per market holds two int64 arrays, YES bids and NO bids, with one slot
per multiple of the market's tick (101 slots on a whole-cent market, 10,001 on a 1 bp grid). The
NO array is indexed by the NO-leg price, as Kalshi's REST API and its default WebSocket send it,
so the best YES ask is 10000 - best NO bid. Applying a delta is index arithmetic and an add; the
best bid of each side is kept in O(1) by a two-level occupancy bitmap (count-leading-zeros over
at most three summary words), also when the top level empties again and again.

Units: prices in basis points of $1 (0..10000), sizes in hundredths of a contract.
"""
from enum import IntEnum, StrEnum

import numpy as np

cimport cython

from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memset

from centbook.cb cimport cb_add_overflow, cb_high_bit, cb_mask_below, cb_popcount, cb_unlikely
from centbook.fixed cimport price_bp_from, size_from
from centbook.grid cimport PriceGrid

from cpython.object cimport PyObject
from cpython.ref cimport Py_XDECREF


cdef extern from "cb_top.h":
    int cb_top_set(PyObject **cache, PyObject *price, long long size) except -1

cdef extern from "Python.h":
    PyObject *cb_tuple_item "PyTuple_GET_ITEM"(object t, Py_ssize_t i)

__all__ = ["OrderBook", "Side", "OrderSide", "BookState", "BookFault"]

cdef enum:
    MAX_BP = 10000

# Every price 0..10000 bp as a Python int, made once (about 280 kB): the cached best-level tuples
# take their price from here instead of allocating an int each time the top moves.
cdef tuple _PRICE_OBJECTS = tuple(range(MAX_BP + 1))


class Side(IntEnum):
    """Which bid book: YES bids or NO bids (both sides of a Kalshi book are bids)."""
    YES = 0
    NO = 1


class OrderSide(StrEnum):
    """Which way an order goes, in the words of Kalshi's V2 order endpoints.

    ``BID`` buys YES at its price; ``ASK`` sells YES, which is buying NO at ``10000 - price_bp``.
    A member equals its wire string (``OrderSide.BID == "bid"``). The one mapping to book sides:
    an order rests among the bids of :attr:`book_side` (``BID`` -> ``Side.YES``, ``ASK`` ->
    ``Side.NO``), and :meth:`of` goes back.
    """
    BID = "bid"
    ASK = "ask"

    @property
    def book_side(self):
        """The book side whose bids an order of this side joins."""
        return Side.YES if self is OrderSide.BID else Side.NO

    @property
    def opposite(self):
        """The other side."""
        return OrderSide.ASK if self is OrderSide.BID else OrderSide.BID

    @classmethod
    def of(cls, side):
        """The order side that rests among the bids of book side ``side``."""
        return cls.BID if Side(side) is Side.YES else cls.ASK


class BookState(IntEnum):
    """Whether a book can be trusted; see ``OrderBook.state`` for the transitions."""
    EMPTY = CB_BOOK_EMPTY
    SYNCING = CB_BOOK_SYNCING
    LIVE = CB_BOOK_LIVE
    GAPPED = CB_BOOK_GAPPED
    STALE = CB_BOOK_STALE
    FAULTED = CB_BOOK_FAULTED


# the members by value: ``state`` is read on every socket read (the feed's checks), and calling
# the IntEnum class costs a Python-level lookup each time
_STATE_MEMBERS = tuple(BookState(i) for i in range(6))


class BookFault(ValueError):
    """A snapshot or delta the book cannot apply; the book is now FAULTED.

    Attributes
    ----------
    ticker : str
    reason : str
        ``"no_snapshot"``, ``"off_grid"``, ``"negative"``, ``"overflow"``, ``"duplicate"``,
        ``"bad_side"``, ``"bad_value"``, ``"external"`` or ``"faulted"`` (refused because the book
        was already FAULTED).
    side, price_bp, amount : int or None
        The offending level and the delta or size that was refused.
    index : int or None
        For a batch, how many deltas were applied before this one.
    """

    def __init__(self, message, *, ticker=None, reason=None, side=None, price_bp=None,
                 amount=None, index=None):
        super().__init__(message)
        self.ticker = ticker
        self.reason = reason
        self.side = side
        self.price_bp = price_bp
        self.amount = amount
        self.index = index


_REASONS = {
    CB_REFUSED_FAULTED: ("faulted", "the book is FAULTED; apply a snapshot or clear() first"),
    CB_FAULT_NO_SNAPSHOT: ("no_snapshot", "delta before any snapshot"),
    CB_FAULT_OFF_GRID: ("off_grid", "price is not on the market's grid"),
    CB_FAULT_NEGATIVE: ("negative", "level would go below zero"),
    CB_FAULT_OVERFLOW: ("overflow", "size overflows int64"),
    CB_FAULT_DUPLICATE: ("duplicate", "snapshot lists a price twice"),
    CB_FAULT_BAD_SIDE: ("bad_side", "side must be 0 (YES) or 1 (NO)"),
    CB_FAULT_BAD_VALUE: ("bad_value", "level is not a (price, size) pair of decimal strings"),
    CB_FAULT_EXTERNAL: ("external", "faulted by its feed"),
}

# Allowed set_state targets per current state (bit i = BookState i); LIVE and EMPTY are never
# targets of set_state: LIVE comes only from a good snapshot, EMPTY only from clear().
cdef uint32_t _ALLOWED[6]
_ALLOWED[<int>CB_BOOK_EMPTY] = (1 << CB_BOOK_SYNCING) | (1 << CB_BOOK_STALE) | (1 << CB_BOOK_FAULTED)
_ALLOWED[<int>CB_BOOK_SYNCING] = (1 << CB_BOOK_GAPPED) | (1 << CB_BOOK_STALE) | (1 << CB_BOOK_FAULTED)
_ALLOWED[<int>CB_BOOK_LIVE] = ((1 << CB_BOOK_SYNCING) | (1 << CB_BOOK_GAPPED) | (1 << CB_BOOK_STALE)
                               | (1 << CB_BOOK_FAULTED))
_ALLOWED[<int>CB_BOOK_GAPPED] = (1 << CB_BOOK_SYNCING) | (1 << CB_BOOK_STALE) | (1 << CB_BOOK_FAULTED)
_ALLOWED[<int>CB_BOOK_STALE] = (1 << CB_BOOK_SYNCING) | (1 << CB_BOOK_FAULTED)
_ALLOWED[<int>CB_BOOK_FAULTED] = (1 << CB_BOOK_SYNCING)


cdef inline int32_t _high_slot(const uint64_t *bits, const uint64_t *summary) noexcept nogil:
    cdef int i, w
    for i in range(CB_MAX_SUMMARY - 1, -1, -1):
        if summary[i]:
            w = (i << 6) + cb_high_bit(summary[i])
            return (w << 6) + cb_high_bit(bits[w])
    return -1


cdef inline void _set_bit(uint64_t *bits, uint64_t *summary, int32_t slot) noexcept nogil:
    cdef int32_t w = slot >> 6
    bits[w] |= (<uint64_t>1) << (slot & 63)
    summary[w >> 6] |= (<uint64_t>1) << (w & 63)


cdef inline void _clear_bit(uint64_t *bits, uint64_t *summary, int32_t slot) noexcept nogil:
    cdef int32_t w = slot >> 6
    bits[w] &= ~((<uint64_t>1) << (slot & 63))
    if bits[w] == 0:
        summary[w >> 6] &= ~((<uint64_t>1) << (w & 63))


cdef inline cb_apply_t _apply(OrderBook book, int side, int32_t price_bp, int64_t delta,
                              int64_t *new_size) noexcept nogil:
    """The delta kernel (OrderBook.apply_delta_c); inlined into the batch loop."""
    cdef int32_t slot, best
    cdef int64_t old, new, total
    cdef int64_t *levels
    if cb_unlikely(book._state != CB_BOOK_LIVE):
        # GAPPED and STALE books keep applying; the others refuse or fault
        if book._state == CB_BOOK_FAULTED:
            return CB_REFUSED_FAULTED
        if book._state == CB_BOOK_EMPTY or book._state == CB_BOOK_SYNCING:
            book.fault_c(CB_FAULT_NO_SNAPSHOT, side, price_bp, delta)
            return CB_FAULT_NO_SNAPSHOT
    if cb_unlikely(<uint32_t>side > 1):
        book.fault_c(CB_FAULT_BAD_SIDE, side, price_bp, delta)
        return CB_FAULT_BAD_SIDE
    if cb_unlikely(<uint32_t>price_bp > MAX_BP):
        book.fault_c(CB_FAULT_OFF_GRID, side, price_bp, delta)
        return CB_FAULT_OFF_GRID
    slot = book._slot_of[side][price_bp]
    if cb_unlikely(slot < 0):
        book.fault_c(CB_FAULT_OFF_GRID, side, price_bp, delta)
        return CB_FAULT_OFF_GRID
    levels = book._levels[side]
    old = levels[slot]
    if cb_unlikely(cb_add_overflow(old, delta, &new) or cb_add_overflow(book._total[side], delta, &total)):
        book.fault_c(CB_FAULT_OVERFLOW, side, price_bp, delta)
        return CB_FAULT_OVERFLOW
    if cb_unlikely(new < 0):
        book.fault_c(CB_FAULT_NEGATIVE, side, price_bp, delta)
        return CB_FAULT_NEGATIVE
    levels[slot] = new
    book._total[side] = total
    best = book._best[side]
    if slot >= best:
        # the top level changed size, appeared or emptied
        book._bid_dirty[side] = 1
        book._ask_dirty[1 - side] = 1
    if old == 0:
        if new != 0:
            _set_bit(book._bits[side], book._summary[side], slot)
            if slot > best:
                book._best[side] = slot
    elif new == 0:
        _clear_bit(book._bits[side], book._summary[side], slot)
        if slot == best:
            book._best[side] = _high_slot(book._bits[side], book._summary[side])
    new_size[0] = new
    return CB_APPLIED


# Every level stays below DEFERRED_LEVEL_LIMIT (2**49 hundredths, 5.6e12 contracts: no real book
# comes near) in the deferred-bitmap run. With every level of a side below it, the side's total
# (at most CB_MAX_SLOTS levels) stays below 2**63, so that run needs no overflow check of its own.
cdef enum:
    DEFERRED_LEVEL_BITS = 49
cdef uint64_t DEFERRED_LEVEL_LIMIT = (<uint64_t>1) << DEFERRED_LEVEL_BITS

# From how many deltas a batch keeps the bitmap out of its per-delta loop (_apply_run). The run
# saves about 1.8 ns per delta, and costs a fixed part afterwards: scanning the touched flags,
# rebuilding each touched word (64 levels) and summing every level for the totals, so it pays from
# about 100 deltas on the cent grid, 220 on deci-cent and 1,500 on centi-cent (measured on this
# 2-core machine, loaded: batches of n deltas of the bench stream, the run forced on and off).
# Shorter batches, like the feed's frames of a few deltas, update the bitmap delta by delta.
cdef inline Py_ssize_t _deferred_min_deltas(int32_t nslots) noexcept nogil:
    return 128 + nslots // 6


@cython.overflowcheck(False)
cdef inline uint64_t _add_wrap(int64_t a, int64_t b) noexcept nogil:
    """``a + b`` modulo 2**64, unsigned: a deliberate wrap-around for a caller that tests it (the
    debug build's overflowcheck stays on everywhere else)."""
    return <uint64_t>a + <uint64_t>b


cdef inline uint64_t _word_of(const int64_t *levels, int32_t first, int32_t count) noexcept nogil:
    """The occupancy word of the ``count`` (<= 64) levels from slot ``first``."""
    cdef uint64_t word = 0
    cdef int32_t j
    for j in range(count):
        word |= (<uint64_t>(levels[first + j] != 0)) << j
    return word


cdef inline Py_ssize_t _run_levels(const int16_t **slot_of, int64_t **levels, uint8_t *touched,
                                   const uint8_t *sides, const int32_t *prices_bp,
                                   const int64_t *deltas, Py_ssize_t n, bint flag_words) noexcept nogil:
    """_apply_run's loop: how many deltas it applied before the first one it leaves to the caller."""
    cdef Py_ssize_t i = 0
    cdef uint32_t side
    cdef int32_t price_bp, slot
    cdef uint64_t new
    while i < n:
        side = sides[i]
        price_bp = prices_bp[i]
        # two predictable branches (a fused compare-and-jump each): cheaper than or-ing the flags
        if cb_unlikely(side > 1):
            break
        if cb_unlikely(<uint32_t>price_bp > MAX_BP):
            break
        slot = slot_of[side][price_bp]
        if cb_unlikely(slot < 0):
            break
        # a wrap-around add and one unsigned compare for "below zero or too large"
        new = _add_wrap(levels[side][slot], deltas[i])
        if cb_unlikely(new >= DEFERRED_LEVEL_LIMIT):
            break
        levels[side][slot] = <int64_t>new
        if flag_words:
            touched[<uint32_t>slot >> 6] = 1
        i += 1
    return i


cdef Py_ssize_t _apply_run(OrderBook book, const uint8_t *sides, const int32_t *prices_bp,
                           const int64_t *deltas, Py_ssize_t n, bint every_word) noexcept nogil:
    """Apply deltas while each is plainly valid; rebuild the bitmap words they touched afterwards.

    Per delta only the level changes and a flag for its bitmap word is stored: a store nothing
    in the loop reads, so unlike the read-modify-write of a bitmap word or of a total it makes no
    chain through memory from one delta to the next. The run stops, without applying it, at the
    first delta whose side, price or new level (below zero, or at least DEFERRED_LEVEL_LIMIT) is
    not plainly fine; _apply_batch's checked loop takes over there, for the rest of the batch,
    and applies that delta or faults with the exact reason. After the loop, each touched word
    (on both sides: the flag does not say which, saving two instructions per delta) and its
    summary bit are rebuilt from the levels, and the totals summed from the levels, exact
    because every level stayed below the limit. So bit set <=> level > 0 holds whichever delta
    the run stopped at. With ``every_word`` (a batch
    many times longer than the grid has slots) no flag is stored at all and every word is rebuilt:
    two instructions fewer per delta for at most two level reads per 16 deltas. The caller
    guarantees both totals are below the limit on entry. Returns how many deltas were applied.
    """
    cdef uint8_t touched[CB_MAX_WORDS]
    cdef const int16_t *slot_of[2]
    cdef int64_t *levels[2]
    cdef Py_ssize_t i
    cdef int side
    cdef int32_t w, nwords, nslots
    cdef uint64_t word, bit
    cdef int64_t total
    cdef uint64_t *bits
    cdef uint64_t *summary
    memset(touched, 0, sizeof(touched))
    for side in range(2):
        slot_of[side] = book._slot_of[side]
        levels[side] = book._levels[side]
    # two copies of the loop, each with flag_words a constant once inlined
    if every_word:
        i = _run_levels(slot_of, levels, touched, sides, prices_bp, deltas, n, False)
    else:
        i = _run_levels(slot_of, levels, touched, sides, prices_bp, deltas, n, True)
    # read after the loop: fewer values live across it, so none of the loop's own spill
    nwords = book._nwords
    nslots = book._nslots
    for side in range(2):
        bits = book._bits[side]
        summary = book._summary[side]
        for w in range(nwords):
            if every_word or touched[w]:
                word = _word_of(levels[side], w << 6, min(64, nslots - (w << 6)))
                bits[w] = word
                bit = (<uint64_t>1) << (w & 63)
                if word:
                    summary[w >> 6] |= bit
                else:
                    summary[w >> 6] &= ~bit
        total = 0
        for w in range(nslots):
            total += levels[side][w]
        book._total[side] = total
    return i


cdef cb_apply_t _apply_batch(OrderBook book, const uint8_t *sides, const int32_t *prices_bp,
                             const int64_t *deltas, Py_ssize_t n, Py_ssize_t *done) noexcept nogil:
    """The batch kernel: ``n`` deltas with _apply's checks, the best bids brought up once at the end.

    A long batch (_deferred_min_deltas) goes through _apply_run first, which keeps the bitmap and
    the totals out of its loop; the loop here takes over at the delta the run stopped at, if any.
    In this loop only the level, the side's total and the bitmap change per delta, without a
    branch on whether the level appeared or emptied (data-dependent: it would mispredict). The
    best slot and the cached tuples are only read after the call, so they are recomputed once
    here. ``*done`` is the number of deltas applied; on a refusal the book is faulted at that delta.
    """
    cdef Py_ssize_t i = 0
    cdef uint32_t side = 0
    cdef int32_t price_bp = 0, slot, w
    cdef int64_t delta = 0, old, new, tot
    cdef uint64_t word, bit, flip
    cdef cb_apply_t rc = CB_APPLIED
    # the book's pointers in locals: stores into the levels and bitmaps could otherwise alias
    # the book's fields in the compiler's eyes and force a reload per delta
    cdef const int16_t *slot_of[2]
    cdef int64_t *levels[2]
    cdef uint64_t *bits[2]
    cdef uint64_t *summary[2]
    cdef int64_t total[2]
    done[0] = 0
    if cb_unlikely(book._state != CB_BOOK_LIVE):
        # the state cannot change inside the loop except by a fault, so it is checked once
        if book._state == CB_BOOK_FAULTED:
            return CB_REFUSED_FAULTED
        if book._state == CB_BOOK_EMPTY or book._state == CB_BOOK_SYNCING:
            book.fault_c(CB_FAULT_NO_SNAPSHOT, sides[0], prices_bp[0], deltas[0])
            return CB_FAULT_NO_SNAPSHOT
    if (n >= _deferred_min_deltas(book._nslots) and <uint64_t>book._total[0] < DEFERRED_LEVEL_LIMIT
            and <uint64_t>book._total[1] < DEFERRED_LEVEL_LIMIT):
        i = _apply_run(book, sides, prices_bp, deltas, n, n >= 16 * <Py_ssize_t>book._nslots)
    for side in range(2):
        slot_of[side] = book._slot_of[side]
        levels[side] = book._levels[side]
        bits[side] = book._bits[side]
        summary[side] = book._summary[side]
        total[side] = book._total[side]
    while i < n:
        side = sides[i]
        price_bp = prices_bp[i]
        delta = deltas[i]
        # one predictable branch for the side and the range; the slot table answers "on the grid"
        if cb_unlikely((side > 1) | (<uint32_t>price_bp > MAX_BP)):
            rc = CB_FAULT_BAD_SIDE if side > 1 else CB_FAULT_OFF_GRID
            break
        slot = slot_of[side][price_bp]
        if cb_unlikely(slot < 0):
            rc = CB_FAULT_OFF_GRID
            break
        old = levels[side][slot]
        if cb_unlikely(cb_add_overflow(old, delta, &new) | cb_add_overflow(total[side], delta, &tot)):
            rc = CB_FAULT_OVERFLOW
            break
        if cb_unlikely(new < 0):
            rc = CB_FAULT_NEGATIVE
            break
        levels[side][slot] = new
        total[side] = tot
        # the slot's occupancy bit flips when the level appears or empties; computed without a
        # branch, because which of the two happens is data-dependent and would mispredict
        w = slot >> 6
        flip = (<uint64_t>((old == 0) ^ (new == 0))) << (slot & 63)
        word = bits[side][w] ^ flip
        bits[side][w] = word
        # the word itself rarely turns empty or non-empty: a predictable branch for its summary
        # bit (idempotent, so it is also right when taken for a word that stayed empty)
        if cb_unlikely((word == 0) | (word == flip)):
            bit = (<uint64_t>1) << (w & 63)
            if word:
                summary[side][w >> 6] |= bit
            else:
                summary[side][w >> 6] &= ~bit
        i += 1
    book._total[0] = total[0]
    book._total[1] = total[1]
    if i > 0:
        book._best[0] = _high_slot(bits[0], summary[0])
        book._best[1] = _high_slot(bits[1], summary[1])
        book._mark_all_dirty()
    done[0] = i
    if rc != CB_APPLIED:
        book.fault_c(rc, side, price_bp, delta)
    return rc


cdef int _side_of(object side) except -1:
    cdef long s = side
    if s != 0 and s != 1:
        raise ValueError(f"side must be Side.YES (0) or Side.NO (1), got {side!r}")
    return <int>s


cdef class OrderBook:
    """The order book of one Kalshi market.

    Parameters
    ----------
    ticker : str
        The market ticker (only used in messages and by the registry of books).
    grid : PriceGrid, optional
        The market's price grid; whole cents when omitted.

    Notes
    -----
    ``state`` tells whether the book can be trusted (:class:`BookState`):

    - EMPTY: new or cleared, no snapshot yet.
    - SYNCING: waiting for a first snapshot of a subscription; a delta here faults the book.
    - LIVE: built from a snapshot and every delta since; the only state to trade on.
    - GAPPED: messages were missed (seq gap); deltas still apply, a snapshot is due.
    - STALE: the connection is dead or the subscription ended; nothing arrives.
    - FAULTED: a snapshot or delta could not be applied; deltas are refused.

    Transitions: a good snapshot makes any state LIVE and bumps ``generation``; ``clear()``
    makes any state EMPTY and bumps ``generation``; a bad snapshot or delta makes it FAULTED;
    ``set_state`` moves EMPTY to SYNCING/STALE, SYNCING to GAPPED/STALE, LIVE to
    SYNCING/GAPPED/STALE, GAPPED to SYNCING/STALE, STALE to SYNCING, FAULTED to SYNCING, and any
    state to FAULTED. Deltas apply in LIVE, GAPPED and STALE. Read prices whatever the state,
    but trade only while ``is_live``.
    """

    def __cinit__(self, ticker, PriceGrid grid=None):
        if not isinstance(ticker, str) or not ticker:
            raise ValueError(f"ticker must be a non-empty str, got {ticker!r}")
        self.ticker = ticker
        self._state = CB_BOOK_EMPTY
        self.generation = 0
        self.last_seq = 0
        self._bits[0] = NULL
        self._bits[1] = NULL
        self._install(PriceGrid.linear_cent() if grid is None else grid)

    def __dealloc__(self):
        PyMem_Free(self._bits[0])
        PyMem_Free(self._bits[1])
        Py_XDECREF(self._bid_cache_yes)
        Py_XDECREF(self._bid_cache_no)
        Py_XDECREF(self._ask_cache_yes)
        Py_XDECREF(self._ask_cache_no)

    cdef int _install(self, PriceGrid grid) except -1:
        """Allocate empty arrays and bitmaps for ``grid`` and make it the book's grid."""
        cdef int64_t[::1] yes_view
        cdef int64_t[::1] no_view
        cdef int nwords = (grid.slot_count + 63) >> 6
        cdef uint64_t *bits_yes = <uint64_t *>PyMem_Calloc(nwords, sizeof(uint64_t))
        cdef uint64_t *bits_no = <uint64_t *>PyMem_Calloc(nwords, sizeof(uint64_t))
        if bits_yes == NULL or bits_no == NULL:
            PyMem_Free(bits_yes)
            PyMem_Free(bits_no)
            raise MemoryError()
        yes = np.zeros(grid.slot_count, dtype=np.int64)
        no = np.zeros(grid.slot_count, dtype=np.int64)
        yes_view = yes
        no_view = no
        PyMem_Free(self._bits[0])
        PyMem_Free(self._bits[1])
        self.grid = grid
        self._arrays = (yes, no)
        self._tick = grid.tick_bp
        self._nslots = grid.slot_count
        self._nwords = nwords
        self._slot_of[0] = grid.slot_of[0]
        self._slot_of[1] = grid.slot_of[1]
        self._levels[0] = &yes_view[0]
        self._levels[1] = &no_view[0]
        self._bits[0] = bits_yes
        self._bits[1] = bits_no
        memset(self._summary, 0, sizeof(self._summary))
        self._best[0] = -1
        self._best[1] = -1
        self._total[0] = 0
        self._total[1] = 0
        self._mark_all_dirty()
        return 0

    cdef void _mark_all_dirty(self) noexcept nogil:
        self._bid_dirty[0] = 1
        self._bid_dirty[1] = 1
        self._ask_dirty[0] = 1
        self._ask_dirty[1] = 1

    # ----------------------------------------------------------------------------- kernels

    cdef void fault_c(self, cb_apply_t code, int side, int32_t price_bp, int64_t amount) noexcept nogil:
        self._state = CB_BOOK_FAULTED
        self._fault_code = code
        self._fault_side = side
        self._fault_price_bp = price_bp
        self._fault_amount = amount
        self._fault_count += 1

    cdef cb_apply_t apply_delta_c(self, int side, int32_t price_bp, int64_t delta,
                                  int64_t *new_size) noexcept nogil:
        return _apply(self, side, price_bp, delta, new_size)

    cdef cb_apply_t load_snapshot_c(self, const int32_t *yes_prices, const int64_t *yes_sizes,
                                    Py_ssize_t n_yes, const int32_t *no_prices,
                                    const int64_t *no_sizes, Py_ssize_t n_no) noexcept nogil:
        cdef uint64_t seen[CB_MAX_WORDS]
        cdef const int32_t *prices
        cdef const int64_t *sizes
        cdef Py_ssize_t n, i
        cdef int side, w, b
        cdef int32_t p, slot
        cdef int64_t total
        cdef uint64_t word
        cdef int64_t *levels
        # validate everything first: a refused snapshot changes no level
        for side in range(2):
            prices = yes_prices if side == 0 else no_prices
            sizes = yes_sizes if side == 0 else no_sizes
            n = n_yes if side == 0 else n_no
            memset(seen, 0, self._nwords * sizeof(uint64_t))
            total = 0
            for i in range(n):
                p = prices[i]
                if <uint32_t>p > MAX_BP or self._slot_of[side][p] < 0:
                    self.fault_c(CB_FAULT_OFF_GRID, side, p, sizes[i])
                    return CB_FAULT_OFF_GRID
                if sizes[i] < 0:
                    self.fault_c(CB_FAULT_NEGATIVE, side, p, sizes[i])
                    return CB_FAULT_NEGATIVE
                slot = self._slot_of[side][p]
                if seen[slot >> 6] & ((<uint64_t>1) << (slot & 63)):
                    self.fault_c(CB_FAULT_DUPLICATE, side, p, sizes[i])
                    return CB_FAULT_DUPLICATE
                seen[slot >> 6] |= (<uint64_t>1) << (slot & 63)
                if cb_add_overflow(total, sizes[i], &total):
                    self.fault_c(CB_FAULT_OVERFLOW, side, p, sizes[i])
                    return CB_FAULT_OVERFLOW
        for side in range(2):
            prices = yes_prices if side == 0 else no_prices
            sizes = yes_sizes if side == 0 else no_sizes
            n = n_yes if side == 0 else n_no
            levels = self._levels[side]
            # zero only the occupied levels: O(levels + words), not O(slots)
            for w in range(self._nwords):
                word = self._bits[side][w]
                while word:
                    b = cb_high_bit(word)
                    levels[(w << 6) + b] = 0
                    word &= ~((<uint64_t>1) << b)
                self._bits[side][w] = 0
            memset(self._summary[side], 0, sizeof(self._summary[side]))
            total = 0
            for i in range(n):
                if sizes[i] > 0:
                    slot = self._slot_of[side][prices[i]]
                    levels[slot] = sizes[i]
                    _set_bit(self._bits[side], self._summary[side], slot)
                    total += sizes[i]
            self._total[side] = total
            self._best[side] = _high_slot(self._bits[side], self._summary[side])
        self._mark_all_dirty()
        self._state = CB_BOOK_LIVE
        self.generation += 1
        return CB_APPLIED

    cdef int set_state_c(self, cb_book_state_t state) noexcept nogil:
        if state == self._state:
            return 0
        if <uint32_t>state > CB_BOOK_FAULTED or not (_ALLOWED[<int>self._state] & (1u << state)):
            return -1
        if state == CB_BOOK_FAULTED:
            self.fault_c(CB_FAULT_EXTERNAL, -1, -1, 0)
        else:
            self._state = state
        return 0

    cdef int32_t best_slot_below(self, int side, int32_t slot) noexcept nogil:
        """Highest occupied slot strictly below ``slot`` (which may be _nslots), or -1."""
        cdef const uint64_t *bits = self._bits[side]
        cdef const uint64_t *summary = self._summary[side]
        cdef int32_t w, sw
        cdef uint64_t m
        if slot >= self._nslots:
            return self._best[side]
        if slot <= 0:
            return -1
        w = slot >> 6
        m = bits[w] & cb_mask_below(slot & 63)
        if m:
            return (w << 6) + cb_high_bit(m)
        sw = w >> 6
        m = summary[sw] & cb_mask_below(w & 63)
        while True:
            if m:
                w = (sw << 6) + cb_high_bit(m)
                return (w << 6) + cb_high_bit(bits[w])
            if sw == 0:
                return -1
            sw -= 1
            m = summary[sw]

    # ----------------------------------------------------------------------------- errors

    def _fault_error(self, int code, index=None):
        reason, text = _REASONS.get(code, ("unknown", "unknown fault"))
        if code == CB_REFUSED_FAULTED:
            return BookFault(f"{self.ticker}: {text}", ticker=self.ticker, reason=reason, index=index)
        side = self._fault_side
        where = ""
        if side in (0, 1):
            where = f" ({'YES' if side == 0 else 'NO'} @ {self._fault_price_bp} bp, {self._fault_amount})"
        return BookFault(f"{self.ticker}: {text}{where}; the book is FAULTED", ticker=self.ticker,
                         reason=reason, side=side if side in (0, 1) else None,
                         price_bp=self._fault_price_bp if side in (0, 1) else None,
                         amount=self._fault_amount, index=index)

    # ----------------------------------------------------------------------------- updates

    def apply_delta(self, int side, int32_t price_bp, int64_t delta, /):
        """Add ``delta`` to the level at ``price_bp`` on ``side``; O(1).

        Parameters
        ----------
        side : Side or int
            ``Side.YES`` (0) or ``Side.NO`` (1); NO prices are NO-leg prices.
        price_bp : int
            Level price in basis points; must be on the side's grid.
        delta : int
            Signed change in hundredths of a contract (Kalshi's ``delta_fp`` x 100).

        Returns
        -------
        int
            The level's new size.

        Raises
        ------
        BookFault
            If the level would go negative, the price is off the grid, no snapshot was applied
            yet, or the book is FAULTED. No level changes and the book is FAULTED.
        ValueError
            If ``side`` is neither 0 nor 1 (the book is unchanged).
        """
        cdef int64_t new_size
        cdef cb_apply_t rc
        if <uint32_t>side > 1:
            _side_of(side)
        rc = _apply(self, side, price_bp, delta, &new_size)
        if rc != CB_APPLIED:
            raise self._fault_error(rc)
        return new_size

    def apply_deltas(self, sides, prices_bp, deltas):
        """Apply a batch of deltas in one call.

        Every delta is validated exactly as :meth:`apply_delta` validates it; only the cached best
        bid and ask are brought up to date once, after the batch, instead of after each delta.

        Parameters
        ----------
        sides : array_like of uint8
        prices_bp : array_like of int32
        deltas : array_like of int64
            Same length; contiguous buffers of these types (NumPy arrays, read-only ones too)
            are used without a copy, anything else is converted first.

        Returns
        -------
        int
            The number of deltas applied (all of them).

        Raises
        ------
        BookFault
            At the first delta the book refuses: the deltas before it stay applied (``index``
            says how many), that delta and the rest are not, and the book is FAULTED.
        ValueError
            If the arrays differ in length (nothing is applied).

        Notes
        -----
        A long batch (from 128 + slots / 6 deltas: 144 on whole cents, 1,794 on a 1 bp grid)
        does not update the occupancy bitmap per delta: it rebuilds the bitmap words it touched
        once, after its last delta (also when it faults midway). The results, the faults and the
        ``index`` are the same as for shorter batches; only the speed differs.
        """
        cdef const uint8_t[::1] s
        cdef const int32_t[::1] p
        cdef const int64_t[::1] d
        cdef Py_ssize_t n, done = 0
        cdef cb_apply_t rc
        # a contiguous buffer of the right type is used as it is, anything else converted: a
        # numpy call less per array, most of the cost of a short batch
        try:
            s = sides
        except (TypeError, ValueError, BufferError):
            s = np.ascontiguousarray(sides, dtype=np.uint8)
        try:
            p = prices_bp
        except (TypeError, ValueError, BufferError):
            p = np.ascontiguousarray(prices_bp, dtype=np.int32)
        try:
            d = deltas
        except (TypeError, ValueError, BufferError):
            d = np.ascontiguousarray(deltas, dtype=np.int64)
        n = s.shape[0]
        if p.shape[0] != n or d.shape[0] != n:
            raise ValueError(f"sides, prices_bp and deltas differ in length "
                             f"({n}, {p.shape[0]}, {d.shape[0]})")
        if n == 0:
            return 0
        with nogil:
            rc = _apply_batch(self, &s[0], &p[0], &d[0], n, &done)
        if rc != CB_APPLIED:
            raise self._fault_error(rc, index=done)
        return n

    def apply_snapshot(self, yes=None, no=None):
        """Replace the book with a snapshot given as wire-style level pairs.

        Parameters
        ----------
        yes, no : sequence of (str, str), optional
            ``[("0.0800", "300.00"), ...]``: YES bids and NO bids (NO-leg prices), in any order,
            as ``yes_dollars_fp`` / ``no_dollars_fp`` carry them. An omitted side is empty.

        Raises
        ------
        BookFault
            On a duplicate, negative, off-grid or unparseable level: no level changes and the
            book is FAULTED. On success the book is LIVE and ``generation`` is bumped.
        """
        self._snapshot(yes, no, True)

    def apply_snapshot_bp(self, yes=None, no=None):
        """Replace the book with a snapshot of integer ``(price_bp, size)`` pairs.

        As :meth:`apply_snapshot`, with prices in basis points and sizes in hundredths.
        """
        self._snapshot(yes, no, False)

    cdef _snapshot(self, yes, no, bint strings):
        cdef Py_ssize_t ny = 0 if yes is None else len(yes)
        cdef Py_ssize_t nn = 0 if no is None else len(no)
        cdef Py_ssize_t total = ny + nn
        cdef int32_t *prices = <int32_t *>PyMem_Malloc((total + 1) * sizeof(int32_t))
        cdef int64_t *sizes = <int64_t *>PyMem_Malloc((total + 1) * sizeof(int64_t))
        cdef Py_ssize_t i = 0
        cdef cb_apply_t rc
        if prices == NULL or sizes == NULL:
            PyMem_Free(prices)
            PyMem_Free(sizes)
            raise MemoryError()
        try:
            for side, levels in ((0, yes), (1, no)):
                for level in (levels or ()):
                    try:
                        price, size = level
                        if strings:
                            prices[i] = price_bp_from(price)
                            sizes[i] = size_from(size)
                        else:
                            if not -1 <= price <= MAX_BP + 1:
                                price = -1
                            prices[i] = price
                            sizes[i] = size
                    except (TypeError, ValueError, OverflowError) as exc:
                        self.fault_c(CB_FAULT_BAD_VALUE, side, -1, 0)
                        raise BookFault(f"{self.ticker}: snapshot {'YES' if side == 0 else 'NO'} level "
                                        f"{level!r}: {exc}; the book is FAULTED", ticker=self.ticker,
                                        reason="bad_value", side=side) from None
                    i += 1
            rc = self.load_snapshot_c(prices, sizes, ny, prices + ny, sizes + ny, nn)
            if rc != CB_APPLIED:
                raise self._fault_error(rc)
        finally:
            PyMem_Free(prices)
            PyMem_Free(sizes)

    def clear(self):
        """Empty the book and make it EMPTY (``generation`` is bumped)."""
        cdef int side
        for side in range(2):
            self._arrays[side][:] = 0
            memset(self._bits[side], 0, self._nwords * sizeof(uint64_t))
            self._best[side] = -1
            self._total[side] = 0
        memset(self._summary, 0, sizeof(self._summary))
        self._mark_all_dirty()
        self._state = CB_BOOK_EMPTY
        self.generation += 1

    def regrid(self, PriceGrid grid not None):
        """Move the levels onto a new grid (the market's price structure changed); O(slots).

        Resting levels keep their prices; Kalshi carries resting orders over to the new grid.
        Views from :meth:`levels_array` taken before this call keep the old arrays and are no
        longer updated. State and generation are unchanged.

        Raises
        ------
        BookFault
            If a resting level is not on the new grid: no level changes and the book is FAULTED.
        """
        cdef int side
        cdef int32_t slot, p
        cdef int32_t old_tick = self._tick
        cdef list occupied = []
        for side in range(2):
            slot = self._best[side]
            while slot >= 0:
                p = slot * old_tick
                if not grid.is_valid(p, side):
                    self.fault_c(CB_FAULT_OFF_GRID, side, p, self._levels[side][slot])
                    raise BookFault(f"{self.ticker}: cannot regrid: {'YES' if side == 0 else 'NO'} level at "
                                    f"{p} bp is not on {grid!r}; the book is FAULTED", ticker=self.ticker,
                                    reason="off_grid", side=side, price_bp=p,
                                    amount=self._levels[side][slot])
                occupied.append((side, p, self._levels[side][slot]))
                slot = self.best_slot_below(side, slot)
        self._install(grid)
        for side, p, size in occupied:
            slot = self._slot_of[side][p]
            self._levels[side][slot] = size
            _set_bit(self._bits[side], self._summary[side], slot)
            self._total[side] += size
        for side in range(2):
            self._best[side] = _high_slot(self._bits[side], self._summary[side])

    def set_state(self, state):
        """Move the book to SYNCING, GAPPED, STALE or FAULTED (see the class notes).

        Raises
        ------
        ValueError
            If the transition is not allowed (LIVE only comes from a snapshot, EMPTY from clear()).
        """
        cdef int target = BookState(state)
        if self.set_state_c(<cb_book_state_t>target) != 0:
            raise ValueError(f"{self.ticker}: no transition from {BookState(self._state).name} "
                             f"to {BookState(target).name}")

    # ----------------------------------------------------------------------------- reads

    @property
    def state(self):
        """BookState: whether the book can be trusted."""
        return _STATE_MEMBERS[<int>self._state]

    @property
    def is_live(self):
        """True when the state is LIVE: the only state in which to add exposure."""
        return self._state == CB_BOOK_LIVE

    @property
    def fault_count(self):
        """Number of faults since the book was made."""
        return self._fault_count

    @property
    def last_fault(self):
        """The reason of the last fault (``BookFault.reason``), or None."""
        if self._fault_count == 0:
            return None
        return _REASONS[self._fault_code][0]

    @cython.always_allow_keywords(False)
    def best_bid(self, int side):
        """Return the best bid of ``side`` as ``(price_bp, size)``, or None if the side is empty.

        O(1): the tuple is cached and rebuilt only after the top level changed (in place when
        nobody else holds it: a tuple you kept never changes).
        """
        cdef int32_t s
        cdef PyObject **cache
        if <uint32_t>side > 1:
            _side_of(side)
        cache = &self._bid_cache_yes if side == 0 else &self._bid_cache_no
        if self._bid_dirty[side]:
            s = self._best[side]
            if s < 0:
                cb_top_set(cache, NULL, 0)
            else:
                cb_top_set(cache, cb_tuple_item(_PRICE_OBJECTS, s * self._tick), self._levels[side][s])
            self._bid_dirty[side] = 0
        return None if cache[0] == NULL else <object>cache[0]

    @cython.always_allow_keywords(False)
    def best_ask(self, int side):
        """Return the best ask of ``side`` as ``(price_bp, size)``, or None.

        The YES ask is 10000 - the best NO bid, with its size; the NO ask likewise. O(1), cached.
        """
        cdef int32_t s
        cdef PyObject **cache
        if <uint32_t>side > 1:
            _side_of(side)
        cache = &self._ask_cache_yes if side == 0 else &self._ask_cache_no
        if self._ask_dirty[side]:
            s = self._best[1 - side]
            if s < 0:
                cb_top_set(cache, NULL, 0)
            else:
                cb_top_set(cache, cb_tuple_item(_PRICE_OBJECTS, MAX_BP - s * self._tick),
                           self._levels[1 - side][s])
            self._ask_dirty[side] = 0
        return None if cache[0] == NULL else <object>cache[0]

    @cython.always_allow_keywords(False)
    def best_bid_bp(self, int side):
        """Return the best bid price of ``side`` in bp, or -1 if the side is empty."""
        if <uint32_t>side > 1:
            _side_of(side)
        return self.best_bid_bp_c(side)

    @cython.always_allow_keywords(False)
    def best_bid_size(self, int side):
        """Return the size at the best bid of ``side`` (0 if the side is empty)."""
        if <uint32_t>side > 1:
            _side_of(side)
        return self.best_bid_size_c(side)

    @cython.always_allow_keywords(False)
    def best_ask_bp(self, int side):
        """Return the best ask price of ``side`` in bp, or -1 if there is none."""
        if <uint32_t>side > 1:
            _side_of(side)
        cdef int32_t s = self._best[1 - side]
        return MAX_BP - s * self._tick if s >= 0 else -1

    @cython.always_allow_keywords(False)
    def best_ask_size(self, int side):
        """Return the size at the best ask of ``side`` (0 if there is none)."""
        if <uint32_t>side > 1:
            _side_of(side)
        return self.best_bid_size_c(1 - side)

    def size_at(self, int side, int32_t price_bp):
        """Return the size resting at ``price_bp`` on ``side`` (0 for an empty level).

        Raises
        ------
        ValueError
            If the price is not on the side's grid.
        """
        side = _side_of(side)
        if <uint32_t>price_bp > MAX_BP or self._slot_of[side][price_bp] < 0:
            raise ValueError(f"{self.ticker}: price {price_bp} bp is not on the "
                             f"{'YES' if side == 0 else 'NO'} grid")
        return self._levels[side][self._slot_of[side][price_bp]]

    def depth(self, int side, int n=10):
        """Return up to ``n`` best levels of ``side`` as ``[(price_bp, size), ...]``, best first.

        Walks the occupancy bitmap: O(n + words skipped), never the whole array.
        """
        side = _side_of(side)
        cdef list out = []
        cdef int32_t slot = self._best[side]
        while slot >= 0 and len(out) < n:
            out.append((slot * self._tick, self._levels[side][slot]))
            slot = self.best_slot_below(side, slot)
        return out

    def levels(self, int side):
        """Return every non-empty level of ``side``, ascending (best last, as Kalshi's REST)."""
        out = self.depth(side, self._nslots)
        out.reverse()
        return out

    def level_count(self, int side):
        """Return the number of non-empty levels on ``side``."""
        side = _side_of(side)
        cdef int w, c = 0
        for w in range(self._nwords):
            c += cb_popcount(self._bits[side][w])
        return c

    def total_size(self, int side):
        """Return the sum of all levels of ``side``, in hundredths; O(1)."""
        side = _side_of(side)
        return self._total[side]

    def spread(self):
        """Return YES ask - YES bid in bp, or None unless both exist. Negative when crossed."""
        if self._best[0] < 0 or self._best[1] < 0:
            return None
        return MAX_BP - self._best[1] * self._tick - self._best[0] * self._tick

    def mid(self):
        """Return the YES mid price in bp (a float: it may fall between ticks), or None."""
        if self._best[0] < 0 or self._best[1] < 0:
            return None
        return (self._best[0] * self._tick + MAX_BP - self._best[1] * self._tick) / 2.0

    def microprice(self):
        """Return the size-weighted YES microprice in bp, or None.

        ``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``: leans toward the side with
        less size, where the price is more likely to move.
        """
        if self._best[0] < 0 or self._best[1] < 0:
            return None
        cdef double bid = self._best[0] * self._tick
        cdef double ask = MAX_BP - self._best[1] * self._tick
        cdef double bid_size = self._levels[0][self._best[0]]
        cdef double ask_size = self._levels[1][self._best[1]]
        return (bid * ask_size + ask * bid_size) / (bid_size + ask_size)

    @property
    def is_crossed(self):
        """True if the best YES bid is at or above the best YES ask (never so on a good book)."""
        return (self._best[0] >= 0 and self._best[1] >= 0
                and self._best[0] * self._tick + self._best[1] * self._tick >= MAX_BP)

    def levels_array(self, int side):
        """Return a read-only NumPy view of ``side``'s level sizes, one entry per slot.

        Slot ``i`` holds price ``i * grid.tick_bp``. The view reads the live array: it changes
        as deltas apply, and it stays valid (but stops changing) after :meth:`regrid`, which
        gives the book new arrays. Off-grid slots of a mixed-step grid are always 0.
        """
        side = _side_of(side)
        view = self._arrays[side].view()
        view.flags.writeable = False
        return view

    def as_wire(self):
        """Return the book as Kalshi's REST ``orderbook_fp``: dollar strings, ascending."""
        from centbook.fixed import format_price, format_size
        return {
            key: [[format_price(p), format_size(s)] for p, s in self.levels(side)]
            for side, key in ((0, "yes_dollars"), (1, "no_dollars"))
        }

    def __repr__(self):
        return (f"<OrderBook {self.ticker} {BookState(self._state).name} gen={self.generation} "
                f"bid={self.best_bid(0)} ask={self.best_ask(0)}>")
