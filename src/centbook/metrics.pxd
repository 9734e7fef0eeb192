from libc.stdint cimport int64_t

cimport cython


@cython.final
cdef class Histogram:
    cdef readonly str name
    cdef readonly int64_t count
    cdef int64_t _sum, _min, _max
    cdef int64_t _counts[784]     # (48 + 1) * 16 log-linear buckets
    cdef void record_c(self, int64_t ns) noexcept nogil
