"""The WebSocket reader's extension point: compiled code that reacts to a read before Python.

:class:`centbook.feed.reader.BookListener` calls :meth:`ReadHook.on_read_c` of the hook set on it
(``listener.hook``) at the end of every socket read that changed a book, with the read's frames
applied and before any Python listener runs. The call is a C call: a subclass written in Cython
that ``cimport``\\ s this module, :mod:`centbook.books` and :mod:`centbook.book` reads the books
through their ``.pxd`` accessors with no Python in between. The market maker's compiled requote
path (:mod:`centbook.mm.quoter`) is such a subclass.

docs/hooks.md explains the contract and builds a complete example.
"""
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int64_t

from centbook.books cimport Books

__all__ = ["ReadHook"]


cdef class ReadHook:
    """Base class of a compiled end-of-read hook; does nothing itself.

    Subclass it in Cython and override ``on_read_c``, declared in ``centbook/hooks.pxd``::

        cdef int on_read_c(self, Books books, const Py_ssize_t *changed, Py_ssize_t n,
                           int64_t read_ns) except -1

    ``changed[0:n]`` are the registry indices (``books.book_at_c(i)``) of the markets whose book
    changed in the read, each once; ``read_ns`` is the monotonic time (``cb_monotonic_ns``) of the
    read's first frame. The pointer is valid only during the call. An exception raised here goes
    to the reader's caller like one from a Python listener; return 0 otherwise.

    Attributes
    ----------
    defer_public : bool
        False (the default): every other frame of a read reaches Python's ``on_message`` before
        ``on_read_c``, in the order it came. True: the read's public trades and tickers (which
        tell nothing of our own orders), and the lifecycle frames of markets the hook does not
        watch (``watches_c``), may reach it after ``on_read_c`` instead; every other frame still
        comes first and in order, and none overtakes another (a frame that must come first hands
        those held back before it to Python first).
    python_ns : int
        Set by the reader before each ``on_read_c``: monotonic ns the read's frames spent in
        Python's ``on_message`` before the hook (0 when none went).
    """

    def __init__(self):
        self.defer_public = False

    cdef int on_read_c(self, Books books, const Py_ssize_t *changed, Py_ssize_t n,
                       int64_t read_ns) except -1:
        return 0

    cdef bint watches_c(self, Py_ssize_t market) noexcept:
        """True when a frame about ``market`` (registry index, -1: a market without a book) may
        change what ``on_read_c`` does, so it must reach Python first. The default: every market."""
        return True

    def on_read(self, changed, int64_t read_ns=0, Books books=None):
        """Call :meth:`on_read_c` as the reader would after a read that changed the markets
        (registry indices) in ``changed``: for replays and tests."""
        cdef Py_ssize_t n = len(changed), i
        cdef Py_ssize_t *buf = <Py_ssize_t *>PyMem_Malloc(max(n, 1) * sizeof(Py_ssize_t))
        if buf == NULL:
            raise MemoryError()
        try:
            for i in range(n):
                buf[i] = changed[i]
            self.on_read_c(books, buf, n, read_ns)
        finally:
            PyMem_Free(buf)
