# The WebSocket reader's extension point: a compiled reaction to each socket read.
from libc.stdint cimport int64_t

from centbook.books cimport Books


cdef class ReadHook:
    # the reader may hand the read's public trades and tickers, and the lifecycle frames of the
    # markets watches_c declines, to Python after on_read_c
    cdef public bint defer_public
    # set by the reader before each on_read_c: ns its other frames spent in Python before the hook
    cdef readonly int64_t python_ns

    cdef int on_read_c(self, Books books, const Py_ssize_t *changed, Py_ssize_t n,
                       int64_t read_ns) except -1
    cdef bint watches_c(self, Py_ssize_t market) noexcept
