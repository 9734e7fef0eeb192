# The WebSocket reader's extension point: a compiled reaction to each socket read.
from libc.stdint cimport int64_t

from centbook.books cimport Books


cdef class ReadHook:
    cdef int on_read_c(self, Books books, const Py_ssize_t *changed, Py_ssize_t n,
                       int64_t read_ns) except -1
