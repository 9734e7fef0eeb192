"""The benchmark floor: a minimal C-array book with no validation at all.

Used only by ``benchmarks/`` as the lower bound the real book is measured against, so it does the
least work that still answers the same question (levels right, best bid right when read) through
the cheapest calling convention Cython offers: positional-only arguments (no keyword parsing) and
METH_O for one-argument methods. No grid table, no range, negative or overflow check, no state, no
totals, no bitmap: the slot is a multiply and a shift, and the best bid is kept by scanning down
from the old top when it empties (a batch only rescans once, at its end, since nobody reads the
best bid inside it). ``nop3`` / ``nop1`` cost one C method call and nothing else: the Python floor
under "one call each". Do not use this module for anything else.
"""
cimport cython
from cpython.mem cimport PyMem_Calloc, PyMem_Free
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t


cdef class FloorBook:
    cdef int64_t *_levels[2]
    cdef int32_t _best[2]
    cdef int32_t _tick
    cdef int32_t _nslots
    cdef uint64_t _recip      # 2**32 // tick + 1: price_bp * _recip >> 32 == price_bp // tick

    def __cinit__(self, int tick_bp=100):
        if tick_bp < 1 or 10000 % tick_bp:
            raise ValueError(f"tick_bp must divide 10000, got {tick_bp}")
        self._tick = tick_bp
        self._nslots = 10000 // tick_bp + 1
        # exact for every price_bp <= 10000: the error term price_bp * (recip * tick - 2**32)
        # stays below 2**32
        self._recip = ((<uint64_t>1) << 32) // <uint64_t>tick_bp + 1
        self._levels[0] = <int64_t *>PyMem_Calloc(self._nslots, sizeof(int64_t))
        self._levels[1] = <int64_t *>PyMem_Calloc(self._nslots, sizeof(int64_t))
        if self._levels[0] == NULL or self._levels[1] == NULL:
            raise MemoryError()
        self._best[0] = -1
        self._best[1] = -1

    def __dealloc__(self):
        PyMem_Free(self._levels[0])
        PyMem_Free(self._levels[1])

    cdef inline int32_t _slot(self, int32_t price_bp) noexcept nogil:
        return <int32_t>((<uint64_t>price_bp * self._recip) >> 32)

    cdef inline int32_t _top(self, int side) noexcept nogil:
        cdef int32_t slot = self._nslots - 1
        cdef const int64_t *levels = self._levels[side]
        while slot >= 0 and levels[slot] == 0:
            slot -= 1
        return slot

    def apply_delta(self, int side, int32_t price_bp, int64_t delta, /):
        cdef int32_t slot = self._slot(price_bp)
        cdef int64_t *levels = self._levels[side]
        cdef int64_t new = levels[slot] + delta
        levels[slot] = new
        if new > 0:
            if slot > self._best[side]:
                self._best[side] = slot
        elif slot == self._best[side]:
            while slot >= 0 and levels[slot] == 0:
                slot -= 1
            self._best[side] = slot
        return new

    @cython.always_allow_keywords(False)
    def best_bid_bp(self, int side):
        cdef int32_t s = self._best[side]
        return s * self._tick if s >= 0 else -1

    def apply_deltas(self, const uint8_t[::1] sides, const int32_t[::1] prices_bp,
                     const int64_t[::1] deltas):
        cdef Py_ssize_t i, n = sides.shape[0]
        cdef int64_t *levels[2]
        levels[0] = self._levels[0]
        levels[1] = self._levels[1]
        with nogil:
            for i in range(n):
                levels[sides[i]][self._slot(prices_bp[i])] += deltas[i]
            self._best[0] = self._top(0)
            self._best[1] = self._top(1)
        return n

    def nop3(self, side, price_bp, delta, /):
        """One C method call with three arguments that does nothing (the harness floor)."""
        return None

    @cython.always_allow_keywords(False)
    def nop1(self, side):
        """One C method call with one argument that does nothing (the harness floor)."""
        return None

    def levels(self, int side):
        cdef int64_t *lv = self._levels[side]
        return [(i * self._tick, lv[i]) for i in range(self._nslots) if lv[i] != 0]
