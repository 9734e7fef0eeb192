"""The recorder's per-frame hot path, compiled: a frame's bytes appended to a writer's buffer.

:class:`FrameTap` is what :class:`~centbook.feed.reader.BookListener` calls (its ``tap``) for
every text frame: it reads the wall clock once per socket read (the listener passes the read's
monotonic ns), appends one ``FRAME`` record (the :data:`centbook.record.segment.RECORD` header,
then the bytes) to the writer's buffer with a resize and two copies, and counts it. The writer
collects the counts when it flushes (:meth:`FrameTap.take`); the tap calls the writer only when
the buffer is full.
"""
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

__all__ = ["FrameTap"]

cdef enum:
    HEADER = 23   # RECORD: <B H q q I, packed little-endian


cdef inline int64_t _wall_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef class FrameTap:
    """A :class:`~centbook.feed.reader.BookListener` ``tap`` that records every frame of one connection.

    Parameters
    ----------
    writer : SegmentWriter
        Its ``buffer`` receives the records; it calls :meth:`take` when it flushes (the tap
        registers itself with ``writer.attach``).
    connection : int
        The connection id stamped on the records.
    on_error : callable
        ``on_error(exc)`` when a flush the tap started fails (never raised into picows' callback).

    Attributes
    ----------
    frames : int
        Frames recorded since the tap was made.
    """

    cdef object writer
    cdef bytearray buffer
    cdef object on_error
    cdef uint16_t connection
    cdef int64_t last_mono, wall, first_wall, block_bytes
    cdef readonly int64_t frames
    cdef int64_t pending

    def __init__(self, writer, int connection, on_error):
        if not 0 <= connection < 65536:
            raise ValueError(f"connection must be in 0..65535, got {connection}")
        self.writer = writer
        self.buffer = writer.buffer
        self.connection = connection
        self.on_error = on_error
        self.block_bytes = writer.block_bytes
        self.last_mono = -1
        writer.attach(self)

    def __call__(self, bytes payload, int64_t mono_ns):
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef Py_ssize_t old = PyByteArray_GET_SIZE(self.buffer)
        cdef char *p
        cdef uint8_t kind = 0
        cdef uint32_t length = <uint32_t>n
        if mono_ns != self.last_mono:
            self.last_mono = mono_ns
            self.wall = _wall_ns()
        if self.pending == 0:
            self.first_wall = self.wall
        PyByteArray_Resize(self.buffer, old + HEADER + n)
        p = PyByteArray_AS_STRING(self.buffer) + old
        memcpy(p, &kind, 1)               # little-endian hosts only (x86-64, arm64), as the writer
        memcpy(p + 1, &self.connection, 2)
        memcpy(p + 3, &self.wall, 8)
        memcpy(p + 11, &mono_ns, 8)
        memcpy(p + 19, &length, 4)
        memcpy(p + HEADER, PyBytes_AS_STRING(payload), n)
        self.pending += 1
        self.frames += 1
        if old + HEADER + n >= self.block_bytes:
            try:
                self.writer.flush()
            except Exception as exc:  # a write error: reported, never raised into picows
                self.on_error(exc)

    def take(self):
        """Return ``(records, first_wall_ns, last_wall_ns)`` appended since the last call, and reset."""
        out = (self.pending, self.first_wall, self.wall)
        self.pending = 0
        return out

    def detach(self):
        """Stop counting into the writer (the writer forgets this tap)."""
        self.writer.detach(self)
