"""The WebSocket reader: a picows listener that decodes and applies frames in the callback.

picows calls :meth:`BookListener.on_ws_frame` as a C call for every frame. An orderbook frame is
parsed by the C decoder straight from picows' read buffer and applied to its book inside that
call; no Python object is made for it. Python subscribers hear once per socket read (when picows
marks the frame ``last_in_buffer``), with the list of markets whose book changed in that read.
Every other frame (subscription replies, ticker, trade, fill, lifecycle, ...) is handed to
Python as bytes with its kind, for the typed decoder: as it comes, or, for the public trades and
tickers and the lifecycle of markets the read's compiled hook does not watch, when the hook allows
it (``ReadHook.defer_public``), after the hook. C-level code can subclass the listener and
override :meth:`frame_applied`, called for every book frame.

:class:`CountingListener` is the same kind of listener with the decoding taken out: it counts
frames and bytes and nothing else, so it measures what the transport alone delivers (the floor
any decoder is compared with).
"""
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.stdint cimport int64_t, uint32_t

from picows.picows cimport WSFrame, WSListener, WSMsgType, WSTransport

from centbook.books cimport CB_FRAME_INVALID, CB_KIND_DELTA, CB_KIND_SNAPSHOT, Books
from centbook.cb cimport cb_monotonic_ns
from centbook.metrics cimport Histogram
from centbook.hooks cimport ReadHook

cdef extern from "cb_frame.h":
    enum:
        CB_KIND_TICKER
        CB_KIND_TRADE
        CB_KIND_MARKET_LIFECYCLE_V2
        CB_KIND_MULTIVARIATE_MARKET_LIFECYCLE
        CB_TICKER_MAX
    size_t cb_frame_msg_market(const char *buf, size_t len, char *out, size_t cap)

__all__ = ["BookListener", "CountingListener"]


cdef class BookListener(WSListener):
    """Decode and apply frames inside picows' callback.

    Parameters
    ----------
    books : Books
        The registry the frames are applied to.
    on_read : callable, optional
        ``on_read(changed_tickers: list[str], read_start_ns: int)``, once per socket read in
        which at least one book changed.
    on_message : callable, optional
        ``on_message(kind: int, payload: bytes)`` for every frame that is not an orderbook
        snapshot or delta (``kind`` is a :class:`centbook.books.FrameKind` value, -1 when the
        decoder refused the frame).
    on_connected, on_disconnected : callable, optional
        ``on_connected(transport)`` / ``on_disconnected(transport)``.
    tap : callable, optional
        ``tap(payload: bytes, recv_ns: int)`` for every text frame, for recording. Off by
        default; when set it costs a bytes copy per frame.
    hook : centbook.hooks.ReadHook, optional (attribute)
        Called from C at the end of every read that changed a book, before ``on_read``
        (:mod:`centbook.hooks`; the market maker's compiled requote path is one). Every other
        frame of the read has reached ``on_message`` by then (as it came), so what it told Python
        (an order filled, a market paused, a subscription confirmed) holds before the hook runs;
        but when the hook's ``defer_public`` is set, the read's public trades and tickers, and
        the lifecycle frames of markets the hook does not watch, not followed by a frame that
        must come first reach ``on_message`` right after the hook (before ``on_read``), in their
        order. ``quoter`` is the same attribute under its earlier name.
    sample_every : int
        Time the decode-and-apply of one book frame in every ``sample_every`` into
        ``apply_latency`` (from the first frame of its socket read to the book applied).

    Notes
    -----
    DANGER: the frame buffer belongs to picows and is valid only inside ``on_ws_frame``;
    nothing here keeps a pointer to it past the call.
    """

    cdef readonly Books books
    cdef public object on_read
    cdef public object on_message
    cdef public object on_connected_cb
    cdef public object on_disconnected_cb
    cdef public object tap
    cdef public ReadHook hook
    cdef readonly Histogram apply_latency
    cdef readonly int64_t frames, book_frames, bytes_in, reads, other_frames, refused_frames
    cdef readonly int64_t hooked_reads     # reads that called the hook (counted before the call)
    cdef readonly int64_t deferred_frames  # frames held back for Python until after the hook
    cdef readonly int64_t last_recv_ns
    cdef readonly int64_t last_ping_ns     # the server's last heartbeat Ping (monotonic ns)
    cdef readonly int64_t pings
    cdef readonly object close_code
    cdef int64_t _read_start_ns
    cdef bint _in_read
    cdef int64_t _sample_every, _sample_countdown
    cdef Py_ssize_t *_changed
    cdef uint32_t *_stamp
    cdef Py_ssize_t _nchanged, _cap
    cdef uint32_t _read_no
    cdef int64_t _python_ns               # this read: ns in on_message before the hook
    cdef list _deferred                   # this read: (kind, payload) due after the hook
    cdef list _tickers
    cdef bytearray _fragments

    def __init__(self, Books books not None, on_read=None, on_message=None, on_connected=None,
                 on_disconnected=None, tap=None, int sample_every=64):
        self.books = books
        self.on_read = on_read
        self.on_message = on_message
        self.on_connected_cb = on_connected
        self.on_disconnected_cb = on_disconnected
        self.tap = tap
        self.apply_latency = Histogram("read_to_book_applied")
        self._sample_every = max(1, sample_every)
        self._sample_countdown = 1
        self._tickers = []
        self._deferred = []
        self._fragments = None
        self.close_code = None

    def __dealloc__(self):
        PyMem_Free(self._changed)
        PyMem_Free(self._stamp)

    cdef int _grow(self) except -1:
        cdef Py_ssize_t n = len(self.books)
        cdef Py_ssize_t i
        if n <= self._cap:
            return 0
        n = max(n, 2 * self._cap, 16)
        changed = <Py_ssize_t *>PyMem_Realloc(self._changed, n * sizeof(Py_ssize_t))
        if changed == NULL:
            raise MemoryError()
        self._changed = changed
        stamp = <uint32_t *>PyMem_Realloc(self._stamp, n * sizeof(uint32_t))
        if stamp == NULL:
            raise MemoryError()
        self._stamp = stamp
        for i in range(self._cap, n):
            self._stamp[i] = 0
        self._cap = n
        return 0

    cdef int _mark_changed(self) except -1:
        """Note the market of the frame just applied (once per read)."""
        cdef Py_ssize_t i = self.books._last_market
        if i < 0:
            return 0
        if i >= self._cap:
            self._grow()
        if self._stamp[i] != self._read_no:
            self._stamp[i] = self._read_no
            self._changed[self._nchanged] = i
            self._nchanged += 1
        self.frame_applied(i)
        return 0

    cdef int frame_applied(self, Py_ssize_t market) except -1:
        """Hook for C-level subclasses: called after every book frame of ``market`` (its index
        in the registry). The default does nothing."""
        return 0

    cdef int _end_read(self) except -1:
        cdef Py_ssize_t k, n = self._nchanged
        cdef int64_t python_ns = self._python_ns
        self._in_read = False
        self._read_no += 1
        if self._read_no == 0:
            self._read_no = 1
        self._python_ns = 0
        if n == 0:
            if self._deferred:
                self._hand_deferred()
            return 0
        self._nchanged = 0
        if self.hook is not None:  # compiled reactions first: before any Python listener
            self.hooked_reads += 1
            self.hook.python_ns = python_ns
            try:
                self.hook.on_read_c(self.books, self._changed, n, self._read_start_ns)
            finally:
                if self._deferred:
                    self._hand_deferred()
        elif self._deferred:
            self._hand_deferred()
        if self.on_read is not None:
            if len(self._tickers) != len(self.books):
                self._tickers = self.books.tickers()
            tickers = self._tickers
            self.on_read([tickers[self._changed[k]] for k in range(n)], self._read_start_ns)
        return 0

    cdef int _hand_deferred(self) except -1:
        """Hand the frames held back in this read to Python, in their order (all of them, even
        when one listener call raises: the first exception is raised after)."""
        cdef list due = self._deferred
        first = None
        self._deferred = []
        for kind, payload in due:
            try:
                if self.on_message is not None:
                    self.on_message(kind, payload)
            except Exception as exc:  # noqa: BLE001 - the others are still owed
                if first is None:
                    first = exc
        if first is not None:
            raise first
        return 0

    cdef bint _may_wait(self, int kind, const char *buf, Py_ssize_t n) except -1:
        """A public trade or ticker, or the lifecycle of a market the hook does not watch."""
        cdef char ticker[CB_TICKER_MAX]
        cdef size_t m
        if kind == CB_KIND_TRADE or kind == CB_KIND_TICKER:
            return True
        if kind != CB_KIND_MARKET_LIFECYCLE_V2 and kind != CB_KIND_MULTIVARIATE_MARKET_LIFECYCLE:
            return False
        m = cb_frame_msg_market(buf, <size_t>n, ticker, CB_TICKER_MAX)
        if m == 0:  # no single readable market: about any market
            return False
        return not self.hook.watches_c(self.books.index_of(ticker[:m].decode("utf-8", "replace")))

    cdef int _message(self, int kind, const char *buf, Py_ssize_t n) except -1:
        """A frame that is not a book frame: to Python now, or after the hook when it is a public
        trade or ticker, or the lifecycle of a market the hook does not watch, and the hook allows
        it."""
        cdef int64_t t0
        if self.on_message is None:
            return 0
        if self.hook is not None and self.hook.defer_public and self._may_wait(kind, buf, n):
            self._deferred.append((kind, buf[:n]))
            self.deferred_frames += 1
            return 0
        if self._deferred:  # held back frames go first: nothing overtakes them
            self._hand_deferred()
        t0 = cb_monotonic_ns()
        try:
            self.on_message(kind, buf[:n])
        finally:
            self._python_ns += cb_monotonic_ns() - t0
        return 0

    cdef int _apply(self, const char *buf, Py_ssize_t n) except -1:
        cdef int kind
        cdef int64_t t
        kind = self.books.apply_frame_c(buf, <size_t>n)
        if kind == CB_KIND_DELTA or kind == CB_KIND_SNAPSHOT:
            self.book_frames += 1
            self._mark_changed()
            self._sample_countdown -= 1
            if self._sample_countdown == 0:
                self._sample_countdown = self._sample_every
                t = cb_monotonic_ns()
                self.apply_latency.record_c(t - self._read_start_ns)
        else:
            if kind == CB_FRAME_INVALID:
                self.refused_frames += 1
            else:
                self.other_frames += 1
            self._message(kind, buf, n)
        return 0

    cpdef on_ws_connected(self, WSTransport transport):
        self._in_read = False
        self.last_ping_ns = cb_monotonic_ns()
        self._nchanged = 0
        self.close_code = None
        if self.on_connected_cb is not None:
            self.on_connected_cb(transport)

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef WSMsgType kind = frame.msg_type
        if not self._in_read:
            self._in_read = True
            self._read_start_ns = cb_monotonic_ns()
            self.reads += 1
            self.last_recv_ns = self._read_start_ns
        try:
            if kind == WSMsgType.TEXT or kind == WSMsgType.BINARY or kind == WSMsgType.CONTINUATION:
                self.frames += 1
                self.bytes_in += frame.payload_size
                if self.tap is not None:
                    self.tap(frame.get_payload_as_bytes(), self._read_start_ns)
                if kind != WSMsgType.CONTINUATION and frame.fin:
                    self._apply(frame.payload_ptr, frame.payload_size)
                else:
                    # a fragmented message: rare (Kalshi does not fragment); reassemble it
                    if kind != WSMsgType.CONTINUATION or self._fragments is None:
                        self._fragments = bytearray()
                    self._fragments += frame.get_payload_as_bytes()
                    if frame.fin:
                        data = bytes(self._fragments)
                        self._fragments = None
                        self._apply(data, len(data))
            elif kind == WSMsgType.PING:
                # Kalshi's heartbeat: answered here (picows' auto-pong is off) so its time is known
                self.pings += 1
                self.last_ping_ns = self._read_start_ns
                transport.send_pong(frame.get_payload_as_bytes())
            elif kind == WSMsgType.CLOSE:
                self.close_code = frame.get_close_code()
                transport.send_close(frame.get_close_code())
                transport.disconnect()
        finally:
            if frame.last_in_buffer:
                self._end_read()

    cpdef on_ws_disconnected(self, WSTransport transport):
        if self._in_read:
            self._end_read()
        if self.on_disconnected_cb is not None:
            self.on_disconnected_cb(transport)

    @property
    def quoter(self):
        """The same as :attr:`hook` (its earlier name)."""
        return self.hook

    @quoter.setter
    def quoter(self, ReadHook hook):
        self.hook = hook

    def stats(self):
        """Counters of this listener as a dict."""
        return {"frames": self.frames, "book_frames": self.book_frames, "other_frames": self.other_frames,
                "refused_frames": self.refused_frames, "bytes_in": self.bytes_in, "reads": self.reads,
                "hooked_reads": self.hooked_reads, "deferred_frames": self.deferred_frames}


cdef class CountingListener(WSListener):
    """Count the frames and bytes picows delivers, inside its callback, and decode nothing.

    The receive-only floor of a feed: the cost of the socket reads, picows' framing and one C
    call per frame, without a decoder. Run it against the same server as a :class:`BookListener`
    to see what decoding and applying add, or alone to measure a transport (loopback, a proxy,
    TLS) in messages and bytes per second.

    Parameters
    ----------
    stop_after : int, optional
        Call ``on_stop`` once, when this many data frames have been counted (0: never).
    on_stop : callable, optional
        ``on_stop(listener)``, called from inside the callback of the ``stop_after``-th frame.

    Attributes
    ----------
    frames, bytes_in : int
        Data frames (text, binary, continuation) and their payload bytes.
    reads : int
        Socket reads that delivered frames (picows' ``last_in_buffer``).
    first_ns, last_ns : int
        Monotonic ns of the first data frame and of the end of the last read (one clock read per
        socket read, none per frame); ``elapsed_ns`` is their difference.

    Notes
    -----
    A close frame from the server is answered and the connection closed, as a feed would do;
    pings are left to picows' auto-pong.
    """

    cdef readonly int64_t frames, bytes_in, reads, first_ns, last_ns, stop_after
    cdef public object on_stop

    def __init__(self, int64_t stop_after=0, on_stop=None):
        if stop_after < 0:
            raise ValueError(f"stop_after must be >= 0, got {stop_after}")
        self.stop_after = stop_after
        self.on_stop = on_stop

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef WSMsgType kind = frame.msg_type
        if kind == WSMsgType.TEXT or kind == WSMsgType.BINARY or kind == WSMsgType.CONTINUATION:
            if self.frames == 0:
                self.first_ns = cb_monotonic_ns()
            self.frames += 1
            self.bytes_in += frame.payload_size
            if self.frames == self.stop_after and self.on_stop is not None:
                self.on_stop(self)
        elif kind == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        if frame.last_in_buffer:
            self.reads += 1
            self.last_ns = cb_monotonic_ns()

    @property
    def elapsed_ns(self):
        """Monotonic ns from the first data frame to the end of the last read (0 before any)."""
        return self.last_ns - self.first_ns if self.frames else 0

    def stats(self):
        """Counters of this listener as a dict."""
        return {"frames": self.frames, "bytes_in": self.bytes_in, "reads": self.reads,
                "elapsed_ns": self.elapsed_ns}
