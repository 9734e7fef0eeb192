from libc.stdint cimport int32_t, int64_t

# Parse a str or bytes holding a Kalshi decimal string; raise ValueError naming the input.
cdef int32_t price_bp_from(object text) except -1
cdef int64_t size_from(object text) except? -1
cdef int64_t money_from(object text) except? -1
