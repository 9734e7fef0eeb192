from libc.stdint cimport int16_t, int32_t

cimport cython


# Slot lookup: slot_of[side][price_bp] is the array slot of that price on that side, or -1 when
# the price is not on the side's grid. Side 0 is YES (the market's grid), side 1 is NO (the mirror
# image: NO price q is valid when YES price 10000 - q is).
@cython.final
cdef class PriceGrid:
    cdef readonly int tick_bp
    cdef readonly int slot_count
    cdef readonly tuple bands          # ((start_bp, end_bp, step_bp), ...), ascending
    cdef object _slot_arrays           # (yes, no) int16 NumPy arrays of 10001 entries, kept alive
    cdef const int16_t *slot_of[2]
    cdef object _hash
