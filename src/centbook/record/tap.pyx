"""The compiled hot paths of recordings: a frame into a writer's buffer, a block into the books.

- :class:`FrameTap`, recording: what :class:`~centbook.feed.reader.BookListener` calls (its ``tap``) for
every text frame: it reads the wall clock once per socket read (the listener passes the read's
monotonic ns), appends one ``FRAME`` record (the :data:`centbook.record.segment.RECORD` header,
then the bytes) to the writer's buffer with a resize and two copies, and counts it. The writer
collects the counts when it flushes (:meth:`FrameTap.take`); the tap calls the writer only when
the buffer is full.
- :func:`apply_block`, replaying: the frames of a decompressed block applied to a
  :class:`~centbook.books.Books` in one loop, without a Python object per record; it hands back
  to :class:`centbook.replay.Replayer` only the records that need Python (actions, metadata,
  coverage, snapshots, control frames, resyncs).
"""
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t
from libc.stdio cimport snprintf
from libc.string cimport memcpy
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

from centbook.books cimport CB_HAVE_SID, CB_KIND_SNAPSHOT, CB_KIND_SUBSCRIBED, Books

__all__ = ["APPLIED", "DONE", "FrameTap", "PYTHON", "STOP", "apply_block"]

cdef enum:
    HEADER = 23   # RECORD: <B H q q I, packed little-endian
    LIFECYCLE_V2 = 14   # FrameKind.MARKET_LIFECYCLE_V2 (a Python enum in centbook.books)

#: :func:`apply_block` results: the block is done; the record at ``pos`` was received after
#: ``stop_ns`` (not applied); the record at ``pos`` needs Python (not applied); the frame at
#: ``start`` was applied and its follow-up needs Python.
DONE, STOP, PYTHON, APPLIED = 0, 1, 2, 3


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


cdef char *_scratch = NULL
cdef Py_ssize_t _scratch_cap = 0


cdef const char *_renumbered(const char *p, Py_ssize_t n, int64_t offset, Py_ssize_t *out_n) except NULL:
    """The frame with its first ``"sid":N`` made ``N + offset`` (as centbook.replay.renumber_sid)."""
    global _scratch, _scratch_cap
    cdef Py_ssize_t i = 0, j, k
    cdef int64_t sid = 0
    cdef char digits[24]
    cdef int nd
    cdef char *grown
    while i + 6 <= n:
        if (p[i] == 34 and p[i + 1] == 115 and p[i + 2] == 105 and p[i + 3] == 100
                and p[i + 4] == 34 and p[i + 5] == 58):    # "sid":
            break
        i += 1
    if i + 6 > n:
        out_n[0] = n
        return p
    j = k = i + 6
    while k < n and 48 <= p[k] <= 57:
        sid = sid * 10 + (p[k] - 48)
        k += 1
    if k == j:
        out_n[0] = n
        return p
    nd = snprintf(digits, sizeof(digits), "%lld", <long long>(sid + offset))
    if n + nd > _scratch_cap:
        grown = <char *>PyMem_Realloc(_scratch, 2 * (n + nd))
        if grown == NULL:
            raise MemoryError()
        _scratch, _scratch_cap = grown, 2 * (n + nd)
    memcpy(_scratch, p, j)
    memcpy(_scratch + j, digits, nd)
    memcpy(_scratch + j + nd, p + k, n - k)
    out_n[0] = j + nd + n - k
    return _scratch


def apply_block(Books books, bytes raw, Py_ssize_t pos, Py_ssize_t stop_pos, int64_t stop_ns,
                bytearray shared, int64_t sid_stride):
    """Apply the frames of a decompressed block to ``books``, from byte ``pos``, until one needs Python.

    What :meth:`centbook.replay.Replayer.frame` does for a frame, in one compiled loop: the sid of a
    frame of connection ``c > 0`` renumbered to ``sid + c * sid_stride``; after a frame of a
    connection whose seq is shared (``shared[c]`` non-zero), its subscription's tracker forgotten.

    Parameters
    ----------
    books : Books
    raw : bytes
        A decompressed block (:func:`centbook.record.segment.read_records` reads the same).
    pos : int
        Where to start: the offset of a record in ``raw``.
    stop_pos : int
        Stop before the first record at or after this offset (``len(raw)``: none).
    stop_ns : int
        Stop before the first record received (wall clock) after this.
    shared : bytearray
        65,536 flags, one per connection: its seq is shared with markets outside the recording.
    sid_stride : int
        :data:`centbook.replay.SID_STRIDE`.

    Returns
    -------
    (status, pos, start, kind) : tuple of int
        ``DONE`` (``pos``: where the loop stopped, ``len(raw)`` or at ``stop_pos``), ``STOP``
        (``pos``: the record received after ``stop_ns``), ``PYTHON`` (``pos``: a record to apply
        in Python), ``APPLIED`` (``start``: the frame just applied, ``kind`` its
        :class:`~centbook.books.FrameKind`, ``pos`` the next record).
    """
    cdef const char *base = PyBytes_AS_STRING(raw)
    cdef Py_ssize_t end = PyBytes_GET_SIZE(raw)
    cdef Py_ssize_t start, n, m
    cdef uint8_t kind
    cdef uint16_t conn
    cdef int64_t wall
    cdef uint32_t length
    cdef int applied
    cdef const char *frame
    if len(shared) != 65536:
        raise ValueError("shared must hold one flag per connection (65536)")
    if stop_pos > end:
        stop_pos = end
    while pos < stop_pos:
        start = pos
        memcpy(&kind, base + pos, 1)
        memcpy(&conn, base + pos + 1, 2)
        memcpy(&wall, base + pos + 3, 8)
        memcpy(&length, base + pos + 19, 4)
        if wall > stop_ns:
            return STOP, pos, start, 0
        if kind != 0:
            return PYTHON, pos, start, 0
        n = length
        frame = base + pos + HEADER
        pos += HEADER + n
        if shared[conn]:
            applied = books.apply_frame_c(frame, n)
            if books._frame.have & CB_HAVE_SID:   # the next frame sets a new base: jumps are no gaps
                books.forget_subscription(books._frame.sid)
        elif conn:
            frame = _renumbered(frame, n, conn * sid_stride, &m)
            applied = books.apply_frame_c(frame, m)
        else:
            applied = books.apply_frame_c(frame, n)
        if (applied == CB_KIND_SNAPSHOT or applied == CB_KIND_SUBSCRIBED or applied == LIFECYCLE_V2
                or books._resync_pending):
            return APPLIED, pos, start, applied
    return DONE, pos, pos, 0
