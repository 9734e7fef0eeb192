"""The benchmark floor: a minimal C-array book with no validation at all.

Used only by ``benchmarks/`` as the lower bound the real book is measured against: no grid
lookup, no negative or overflow check, no state, and a best bid kept by scanning down from the
old top when it empties. Do not use it for anything else.
"""
import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t


cdef class FloorBook:
    cdef int64_t[::1] _yes
    cdef int64_t[::1] _no
    cdef int64_t *_levels[2]
    cdef int32_t _best[2]
    cdef int32_t _tick

    def __cinit__(self, int tick_bp=100):
        self._tick = tick_bp
        self._yes = np.zeros(10000 // tick_bp + 1, dtype=np.int64)
        self._no = np.zeros(10000 // tick_bp + 1, dtype=np.int64)
        self._levels[0] = &self._yes[0]
        self._levels[1] = &self._no[0]
        self._best[0] = -1
        self._best[1] = -1

    cdef inline int64_t _apply(self, int side, int32_t price_bp, int64_t delta) noexcept nogil:
        cdef int32_t slot = price_bp // self._tick
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

    def apply_delta(self, int side, int32_t price_bp, int64_t delta):
        return self._apply(side, price_bp, delta)

    def best_bid_bp(self, int side):
        cdef int32_t s = self._best[side]
        return s * self._tick if s >= 0 else -1

    def apply_deltas(self, const uint8_t[::1] sides, const int32_t[::1] prices_bp,
                     const int64_t[::1] deltas):
        cdef Py_ssize_t i, n = sides.shape[0]
        with nogil:
            for i in range(n):
                self._apply(sides[i], prices_bp[i], deltas[i])
        return n

    def levels(self, int side):
        cdef int64_t *lv = self._levels[side]
        return [(i * self._tick, lv[i]) for i in range(10000 // self._tick + 1) if lv[i] != 0]
