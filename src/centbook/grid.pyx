"""PriceGrid: a market's valid prices, mapped to array slots in O(1).

A Kalshi market publishes its tick structure as ``price_ranges``: contiguous bands
``{"start", "end", "step"}`` in dollars. ``price_ranges`` is authoritative; the structure's label
(``linear_cent``, ``deci_cent``, ...) is never needed. A grid has one slot per multiple of its
tick, the greatest common divisor of every step and band boundary (1 cent on a linear-cent
market, so a whole-cent book is literally indexed by cent), and says per slot whether the price
is valid. Band boundaries belong to both adjacent bands: a boundary is a multiple of both steps
from their starts, so the inclusivity Kalshi leaves unspecified does not matter.

The NO side of a book uses the mirrored grid: a NO bid at q is a YES ask at 10000 - q, so q is
valid exactly when 10000 - q is a valid YES price. This is exact for asymmetric grids too: no
grid is ever assumed to be symmetric, and ``is_symmetric`` only reports it.
"""
from math import gcd

import numpy as np

from libc.stdint cimport int16_t

from centbook.fixed cimport price_bp_from

__all__ = ["PriceGrid"]

cdef enum:
    MAX_BP = 10000

_cache = {}


cdef class PriceGrid:
    """The valid prices of one market, from its ``price_ranges``.

    Build one with :meth:`from_ranges`, :meth:`from_bands` or :meth:`linear_cent`; grids with the
    same bands are the same object (the lookup tables are shared by every book on that grid).

    Attributes
    ----------
    tick_bp : int
        Price distance between adjacent slots, in basis points.
    slot_count : int
        Number of slots (``10000 // tick_bp + 1``): 101 on a whole-cent grid.
    bands : tuple of (start_bp, end_bp, step_bp)
        The bands, ascending.
    """

    def __init__(self):
        raise TypeError("use PriceGrid.from_ranges(), PriceGrid.from_bands() or PriceGrid.linear_cent()")

    @staticmethod
    def linear_cent():
        """Return the whole-cent grid ($0.00 to $1.00 by $0.01)."""
        return PriceGrid.from_bands([(0, MAX_BP, 100)])

    @staticmethod
    def from_ranges(ranges):
        """Build the grid of a market's ``price_ranges``.

        Parameters
        ----------
        ranges : list of dict
            ``[{"start": "0.0000", "end": "0.1000", "step": "0.0010"}, ...]`` as Kalshi sends it
            (dollar strings; numbers in basis points are not accepted here).

        Returns
        -------
        PriceGrid

        Raises
        ------
        ValueError
            If a band is malformed (start >= end, a step finer than 1 bp or not dividing its band,
            a price outside $0..$1) or the bands overlap or leave a gap between them.
        """
        if not isinstance(ranges, (list, tuple)) or not ranges:
            raise ValueError(f"price_ranges must be a non-empty list of bands, got {ranges!r}")
        bands = []
        for i, band in enumerate(ranges):
            try:
                start, end, step = band["start"], band["end"], band["step"]
            except (TypeError, KeyError):
                raise ValueError(f"price_ranges[{i}] must have start, end and step: {band!r}") from None
            try:
                bands.append((price_bp_from(start), price_bp_from(end), price_bp_from(step)))
            except ValueError as exc:
                raise ValueError(f"price_ranges[{i}] {band!r}: {exc}") from None
        return PriceGrid.from_bands(bands)

    @staticmethod
    def from_bands(bands):
        """Build a grid from ``(start_bp, end_bp, step_bp)`` integer bands.

        Raises
        ------
        ValueError
            As :meth:`from_ranges`.
        """
        key = tuple((int(s), int(e), int(st)) for s, e, st in bands)
        grid = _cache.get(key)
        if grid is None:
            grid = _build(key)
            _cache[key] = grid
        return grid

    def is_valid(self, int price_bp, int side=0):
        """Return True if ``price_bp`` is a valid price of ``side`` (0 YES, 1 NO)."""
        if price_bp < 0 or price_bp > MAX_BP or side < 0 or side > 1:
            return False
        return self.slot_of[side][price_bp] >= 0

    def slot(self, int price_bp, int side=0):
        """Return the array slot of a valid price.

        Raises
        ------
        ValueError
            If the price is not on the side's grid.
        """
        if (price_bp < 0 or price_bp > MAX_BP or side < 0 or side > 1
                or self.slot_of[side][price_bp] < 0):
            name = "YES" if side == 0 else "NO"
            raise ValueError(f"price {price_bp} bp is not on the {name} grid {self.bands}")
        return self.slot_of[side][price_bp]

    def price(self, int slot):
        """Return the price in basis points of an array slot."""
        if slot < 0 or slot >= self.slot_count:
            raise ValueError(f"slot {slot} is outside 0..{self.slot_count - 1}")
        return slot * self.tick_bp

    def valid_prices(self, int side=0):
        """Return every valid price of ``side``, ascending, as an int32 NumPy array."""
        table = self._slot_arrays[side]
        return np.flatnonzero(table >= 0).astype(np.int32)

    def step_at(self, int price_bp):
        """Return the YES step of the band holding ``price_bp`` (the finer one at a boundary)."""
        best = 0
        for start, end, step in self.bands:
            if start <= price_bp <= end and (best == 0 or step < best):
                best = step
        if best == 0:
            raise ValueError(f"price {price_bp} bp is outside the grid {self.bands}")
        return best

    def round_down(self, int price_bp, int side=0):
        """Return the highest valid price <= ``price_bp`` on ``side``, or -1 if there is none."""
        cdef int p = min(price_bp, MAX_BP)
        while p >= 0 and self.slot_of[side][p] < 0:
            p -= 1
        return p

    def round_up(self, int price_bp, int side=0):
        """Return the lowest valid price >= ``price_bp`` on ``side``, or -1 if there is none."""
        cdef int p = max(price_bp, 0)
        while p <= MAX_BP and self.slot_of[side][p] < 0:
            p += 1
        return p if p <= MAX_BP else -1

    @property
    def is_symmetric(self):
        """True if the NO grid equals the YES grid (every structure Kalshi lists is)."""
        yes, no = self._slot_arrays
        return bool(np.array_equal(yes >= 0, no >= 0))

    def to_ranges(self):
        """Return the bands as Kalshi's ``price_ranges`` (4-decimal dollar strings)."""
        return [
            {"start": f"{s // MAX_BP}.{s % MAX_BP:04d}", "end": f"{e // MAX_BP}.{e % MAX_BP:04d}",
             "step": f"{st // MAX_BP}.{st % MAX_BP:04d}"}
            for s, e, st in self.bands
        ]

    def __repr__(self):
        return f"PriceGrid(bands={self.bands!r}, tick_bp={self.tick_bp}, slot_count={self.slot_count})"

    def __reduce__(self):
        return (PriceGrid.from_bands, (self.bands,))


cdef PriceGrid _build(tuple bands):
    cdef PriceGrid grid
    cdef int16_t[::1] yes_view
    cdef int16_t[::1] no_view
    cdef int tick = MAX_BP
    cdef int start, end, step, prev_end = -1, p, i = 0
    for start, end, step in bands:
        where = f"band {i} ({start}..{end} bp by {step} bp)"
        if step < 1:
            raise ValueError(f"{where}: step must be at least 1 bp")
        if start < 0 or end > MAX_BP:
            raise ValueError(f"{where}: prices must lie within 0..10000 bp")
        if start >= end:
            raise ValueError(f"{where}: start must be below end")
        if (end - start) % step:
            raise ValueError(f"{where}: step does not divide the band")
        if prev_end >= 0 and start < prev_end:
            raise ValueError(f"{where}: overlaps the previous band, which ends at {prev_end} bp")
        if prev_end >= 0 and start > prev_end:
            raise ValueError(f"{where}: leaves a gap after the previous band, which ends at {prev_end} bp")
        tick = gcd(gcd(gcd(tick, start), end), step)
        prev_end = end
        i += 1
    if i == 0:
        raise ValueError("a grid needs at least one band")
    yes = np.full(MAX_BP + 1, -1, dtype=np.int16)
    no = np.full(MAX_BP + 1, -1, dtype=np.int16)
    yes_view = yes
    no_view = no
    for start, end, step in bands:
        for p in range(start, end + 1, step):
            yes_view[p] = <int16_t>(p // tick)
            no_view[MAX_BP - p] = <int16_t>((MAX_BP - p) // tick)
    yes.flags.writeable = False
    no.flags.writeable = False
    grid = PriceGrid.__new__(PriceGrid)
    grid.tick_bp = tick
    grid.slot_count = MAX_BP // tick + 1
    grid.bands = bands
    grid._slot_arrays = (yes, no)
    grid.slot_of[0] = &yes_view[0]
    grid.slot_of[1] = &no_view[0]
    return grid
