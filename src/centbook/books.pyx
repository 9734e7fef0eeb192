"""Kalshi frames straight into order books: the registry of books and the compiled fast path.

:class:`Books` maps market tickers to :class:`~centbook.book.OrderBook` objects and applies
WebSocket frames to them in one compiled call: :meth:`Books.apply_frame` parses the frame with the
C parser of ``csrc/cb_frame.c`` (no Python object per message), checks ``seq`` per subscription,
and applies an ``orderbook_snapshot`` or ``orderbook_delta`` to its book. Every other message type
is validated and classified only; decode it with :func:`centbook.protocol.messages.decode`.

Sequence numbers (``seq``) are per subscription (``sid``), shared by every market of that sid,
and count control replies too. The convention used here (Kalshi does not document it):

- every message that carries both ``sid`` and ``seq`` is tracked, whatever its type;
- the first message seen on a sid sets the base;
- a data message must carry last + 1; a control reply (``ok``, ``unsubscribed``, ``error``) may
  carry last or last + 1 (whether the server counts a reply as a message of its own is not stated);
- anything else is a gap (higher) or a duplicate (lower or equal): every book of the sid becomes
  GAPPED, the tracker re-bases on the received seq, and the markets are reported by
  :meth:`Books.take_resync`; the frame itself is then applied as usual;
- a frame whose body is bad still consumed its seq: the tracker advances, then its market is
  faulted, or every market of the sid when the ticker cannot be read.

Typical use from a WebSocket listener::

    books = Books()
    books.add("KXGOLD15M-26AUG101830-30", market["price_ranges"])   # or let snapshots create them
    books.register_subscription(sid, use_yes_price=True)            # as subscribed

    def on_frame(payload):                     # bytes, or picows' memoryview (valid in the call)
        kind = books.apply_frame(payload)
        if kind == FrameKind.ORDERBOOK_DELTA or kind == FrameKind.ORDERBOOK_SNAPSHOT:
            ...                                # books[ticker] is up to date
        elif kind > FrameKind.ORDERBOOK_DELTA:
            message = centbook.protocol.messages.decode(payload)   # typed, off the hot path
        if books.resync_pending:
            for sid, tickers in books.take_resync_by_sid().items():
                send(centbook.protocol.commands.get_snapshot(next_id(), sid, tickers))

The legacy integer-cent orderbook format (before 2026-03-12) is refused with reason ``legacy``.
"""
from enum import IntEnum

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from centbook.book cimport (
    CB_APPLIED, CB_BOOK_FAULTED, CB_BOOK_GAPPED, CB_BOOK_STALE, CB_FAULT_EXTERNAL, OrderBook,
    cb_apply_t, cb_book_state_t,
)
from centbook.grid cimport PriceGrid

__all__ = ["Books", "FrameKind", "DecodeError", "parse_frame", "REASONS"]

cdef enum:
    MAX_BP = 10000


class FrameKind(IntEnum):
    """What :meth:`Books.apply_frame` found in a frame (the message ``type``).

    ``INVALID`` means the frame was refused (see :attr:`Books.last_error`); ``NONE`` a valid
    JSON object with no ``type``; ``UNKNOWN`` a type this version does not know (counted).
    """
    INVALID = -1
    NONE = 0
    UNKNOWN = 1
    ORDERBOOK_SNAPSHOT = 2
    ORDERBOOK_DELTA = 3
    SUBSCRIBED = 4
    UNSUBSCRIBED = 5
    OK = 6
    ERROR = 7
    TICKER = 8
    TRADE = 9
    FILL = 10
    MARKET_POSITION = 11
    USER_ORDER = 12
    ORDER_GROUP_UPDATES = 13
    MARKET_LIFECYCLE_V2 = 14
    MULTIVARIATE_MARKET_LIFECYCLE = 15
    EVENT_LIFECYCLE = 16
    EVENT_FEE_UPDATE = 17
    RFQ_CREATED = 18
    RFQ_DELETED = 19
    QUOTE_CREATED = 20
    QUOTE_ACCEPTED = 21
    QUOTE_EXECUTED = 22
    CFBENCHMARKS_VALUE = 23
    CFBENCHMARKS_VALUE_INDEXLIST = 24
    PYTH_VALUE = 25
    PYTH_VALUE_UNDERLYING_LIST = 26


# Reason keys of decode errors, by code: the parser's, then the registry's and the book's.
cdef dict _reason_names = {i: cb_frame_err_name(i).decode() for i in range(1, CB_FE_COUNT)}
_reason_texts = {i: cb_frame_err_text(i).decode() for i in range(1, CB_FE_COUNT)}
_reason_names[CB_R_UNKNOWN_MARKET] = "unknown_market"
_reason_texts[CB_R_UNKNOWN_MARKET] = "no book is registered for this market"
for _code, _name, _text in (
    (1, "faulted", "the book is FAULTED and refuses deltas until a snapshot"),
    (2, "no_snapshot", "a delta before the market's snapshot"),
    (3, "off_grid", "price is not on the market's grid"),
    (4, "negative", "the level would go below zero"),
    (5, "overflow", "the size overflows int64"),
    (6, "duplicate_level", "the snapshot lists a price twice"),
    (7, "bad_side", "side must be YES or NO"),
    (8, "bad_value", "a level that is not a (price, size) pair"),
    (9, "external", "faulted by its feed"),
):
    _reason_names[CB_R_BOOK + _code] = _name
    _reason_texts[CB_R_BOOK + _code] = _text
REASONS = tuple(_reason_names[k] for k in sorted(_reason_names))


class DecodeError(ValueError):
    """A frame the decoder refused (raised only by ``Books(raise_errors=True)`` and
    :func:`parse_frame`; otherwise the error is counted and kept in :attr:`Books.last_error`).

    Attributes
    ----------
    reason : str
        A key of :data:`REASONS` (``"truncated"``, ``"price"``, ``"off_grid"``, ...).
    """

    def __init__(self, message, reason):
        super().__init__(message)
        self.reason = reason


cdef inline bint _is_control(int kind) noexcept nogil:
    return kind == CB_KIND_OK or kind == CB_KIND_UNSUBSCRIBED or kind == CB_KIND_ERROR


cdef str _shorten(bytes window, int64_t start, int64_t total):
    text = repr(window)
    if start > 0:
        text = "..." + text
    if start + len(window) < total:
        text = text + "..."
    return text


cdef class Books:
    """A registry of order books, one per market ticker, fed by raw WebSocket frames.

    Parameters
    ----------
    default_grid : PriceGrid, optional
        Grid of a book created by the first snapshot of a ticker nobody registered (whole cents
        when omitted).
    auto_create : bool, default True
        Create a book on the first snapshot of an unregistered ticker. With False (strict mode)
        such a snapshot is refused as an ``unknown_market`` decode error.
    raise_errors : bool, default False
        Raise :class:`DecodeError` from :meth:`apply_frame` on a refused frame, after counting it
        and updating the books. By default the error is only counted and kept in
        :attr:`last_error`, and ``apply_frame`` returns ``FrameKind.INVALID``: a feed must go on.

    Notes
    -----
    ``books[ticker]`` returns the :class:`~centbook.book.OrderBook`. Tickers are looked up by
    their UTF-8 bytes in a C hash table: no Python string is made per message.
    """

    def __cinit__(self, PriceGrid default_grid=None, *, bint auto_create=True, bint raise_errors=False):
        self.default_grid = PriceGrid.linear_cent() if default_grid is None else default_grid
        self.auto_create = auto_create
        self.raise_errors = raise_errors
        self._book_list = []
        self._prices_buf = <int32_t *>PyMem_Malloc(2 * CB_FRAME_MAX_LEVELS * sizeof(int32_t))
        self._sizes_buf = <int64_t *>PyMem_Malloc(2 * CB_FRAME_MAX_LEVELS * sizeof(int64_t))
        self._cap_markets = 16
        self._markets = <cb_market_t *>PyMem_Calloc(self._cap_markets, sizeof(cb_market_t))
        self._table_mask = 63
        self._table = <int32_t *>PyMem_Calloc(self._table_mask + 1, sizeof(int32_t))
        self._cap_subs = 8
        self._subs = <cb_subscription_t *>PyMem_Calloc(self._cap_subs, sizeof(cb_subscription_t))
        if (self._prices_buf == NULL or self._sizes_buf == NULL or self._markets == NULL
                or self._table == NULL or self._subs == NULL):
            raise MemoryError()
        self._frame.level_price_bp[0] = self._prices_buf
        self._frame.level_price_bp[1] = self._prices_buf + CB_FRAME_MAX_LEVELS
        self._frame.level_size[0] = self._sizes_buf
        self._frame.level_size[1] = self._sizes_buf + CB_FRAME_MAX_LEVELS
        self._frame.level_cap = CB_FRAME_MAX_LEVELS
        self._frame.kind = CB_KIND_NONE
        self._err_reason = 0
        self._last_market = -1

    def __init__(self, PriceGrid default_grid=None, *, bint auto_create=True, bint raise_errors=False):
        """Make an empty registry (the work is done at allocation; see the class docstring)."""

    def __dealloc__(self):
        PyMem_Free(self._prices_buf)
        PyMem_Free(self._sizes_buf)
        PyMem_Free(self._markets)
        PyMem_Free(self._table)
        PyMem_Free(self._subs)

    # ------------------------------------------------------------------------- registry

    cdef Py_ssize_t _find(self, const char *ticker, size_t n, uint64_t h) noexcept nogil:
        # ticker: readable up to the next multiple of 8 bytes (cb_padded_eq), as the frame's
        # ticker array is; h: its cb_hash_padded (= cb_hash_bytes)
        cdef Py_ssize_t i = <Py_ssize_t>(h & <uint64_t>self._table_mask)
        cdef int32_t slot
        cdef cb_market_t *m
        while True:
            slot = self._table[i]
            if slot == 0:
                return -1
            m = &self._markets[slot - 1]
            if m.hash == h and m.ticker_len == n and cb_padded_eq(m.ticker, ticker, n):
                return slot - 1
            i = (i + 1) & self._table_mask

    cdef Py_ssize_t _find_key(self, bytes key) noexcept:
        """_find for a ticker given as bytes (copied into a padded buffer first)."""
        cdef char buf[CB_TICKER_MAX]
        cdef size_t n = <size_t>len(key)
        if n == 0 or n > CB_TICKER_MAX:
            return -1
        memset(buf, 0, CB_TICKER_MAX)
        memcpy(buf, <const char *>key, n)
        return self._find(buf, n, cb_hash_padded(buf, n))

    cdef Py_ssize_t _insert(self, object ticker_bytes, object book) except -1:
        cdef const char *s = ticker_bytes
        cdef size_t n = len(ticker_bytes)
        cdef uint64_t h = cb_hash_bytes(s, n)
        cdef Py_ssize_t i, idx, k
        cdef cb_market_t *grown
        cdef int32_t *table
        if n == 0 or n > CB_TICKER_MAX:
            raise ValueError(f"a ticker must be 1 to {CB_TICKER_MAX} bytes of UTF-8, got {ticker_bytes!r}")
        if self._nmarkets == self._cap_markets:
            grown = <cb_market_t *>PyMem_Realloc(self._markets, 2 * self._cap_markets * sizeof(cb_market_t))
            if grown == NULL:
                raise MemoryError()
            self._markets = grown
            self._cap_markets *= 2
        if 2 * (self._nmarkets + 1) > self._table_mask + 1:
            table = <int32_t *>PyMem_Calloc(2 * (self._table_mask + 1), sizeof(int32_t))
            if table == NULL:
                raise MemoryError()
            PyMem_Free(self._table)
            self._table = table
            self._table_mask = 2 * (self._table_mask + 1) - 1
            for k in range(self._nmarkets):
                i = <Py_ssize_t>(self._markets[k].hash & <uint64_t>self._table_mask)
                while self._table[i] != 0:
                    i = (i + 1) & self._table_mask
                self._table[i] = <int32_t>(k + 1)
        idx = self._nmarkets
        self._book_list.append(book)
        self._markets[idx].hash = h
        self._markets[idx].book = <PyObject *>book
        self._markets[idx].sid = -1
        self._markets[idx].needs_snapshot = 0
        self._markets[idx].ticker_len = <uint32_t>n
        memset(self._markets[idx].ticker, 0, CB_TICKER_MAX)   # the padding _find compares whole words of
        memcpy(self._markets[idx].ticker, s, n)
        i = <Py_ssize_t>(h & <uint64_t>self._table_mask)
        while self._table[i] != 0:
            i = (i + 1) & self._table_mask
        self._table[i] = <int32_t>(idx + 1)
        self._nmarkets += 1
        return idx

    def add(self, str ticker not None, grid=None):
        """Register a market and return its (new, EMPTY) book.

        Parameters
        ----------
        ticker : str
            The market ticker, as Kalshi sends it in ``market_ticker``.
        grid : PriceGrid or list of dict, optional
            The market's grid, or its ``price_ranges``; :attr:`default_grid` when omitted.

        Returns
        -------
        OrderBook

        Raises
        ------
        ValueError
            If the ticker is already registered, empty, or longer than 128 bytes.
        """
        if grid is None:
            grid = self.default_grid
        elif not isinstance(grid, PriceGrid):
            grid = PriceGrid.from_ranges(grid)
        key = ticker.encode("utf-8")
        if self._find_key(key) >= 0:
            raise ValueError(f"market {ticker!r} is already registered")
        if not 0 < len(key) <= CB_TICKER_MAX:
            raise ValueError(f"a ticker must be 1 to {CB_TICKER_MAX} bytes of UTF-8, got {ticker!r}")
        book = OrderBook(ticker, grid)
        self._insert(key, book)
        return book

    cdef Py_ssize_t _index(self, ticker) except -2:
        if not isinstance(ticker, str):
            raise TypeError(f"a ticker is a str, got {type(ticker).__name__}")
        key = (<str>ticker).encode("utf-8")
        return self._find_key(key)

    def __getitem__(self, ticker):
        cdef Py_ssize_t i = self._index(ticker)
        if i < 0:
            raise KeyError(ticker)
        return <object>self._markets[i].book

    def get(self, ticker, default=None):
        """Return the book of ``ticker``, or ``default`` when none is registered."""
        cdef Py_ssize_t i = self._index(ticker)
        return default if i < 0 else <object>self._markets[i].book

    def __contains__(self, ticker):
        return isinstance(ticker, str) and self._index(ticker) >= 0

    def index_of(self, ticker):
        """Return the registry index of ``ticker`` (its place in :meth:`tickers`), or -1."""
        return self._index(ticker)

    def __len__(self):
        return self._nmarkets

    def __iter__(self):
        return iter([b.ticker for b in self._book_list])

    def tickers(self):
        """Return the registered tickers, in registration order."""
        return [b.ticker for b in self._book_list]

    def market_sid(self, str ticker not None):
        """Return the sid that last delivered ``ticker`` (None before its first message)."""
        cdef Py_ssize_t i = self._index(ticker)
        if i < 0:
            raise KeyError(ticker)
        return None if self._markets[i].sid < 0 else self._markets[i].sid

    # ------------------------------------------------------------------------- subscriptions

    cdef cb_subscription_t *_sub(self, int64_t sid) except NULL:
        cdef Py_ssize_t i
        cdef cb_subscription_t *grown
        for i in range(self._nsubs):
            if self._subs[i].sid == sid:
                return &self._subs[i]
        if self._nsubs == self._cap_subs:
            grown = <cb_subscription_t *>PyMem_Realloc(self._subs,
                                                       2 * self._cap_subs * sizeof(cb_subscription_t))
            if grown == NULL:
                raise MemoryError()
            self._subs = grown
            self._cap_subs *= 2
        i = self._nsubs
        self._nsubs += 1
        self._subs[i].sid = sid
        self._subs[i].last_seq = 0
        self._subs[i].has_seq = 0
        self._subs[i].use_yes_price = 0
        return &self._subs[i]

    def register_subscription(self, int64_t sid, *, bint use_yes_price=False, seq=None):
        """Declare how subscription ``sid`` was requested.

        Parameters
        ----------
        sid : int
            The subscription id from the ``subscribed`` reply.
        use_yes_price : bool, default False
            The orderbook subscription asked for NO levels in YES terms: NO prices ``p`` are
            mirrored to the NO-leg price ``10000 - p`` so books always hold NO bids at NO-leg
            prices.
        seq : int, optional
            The last seq already seen on ``sid`` (restoring a saved state, see
            :meth:`subscriptions`); by default the next frame sets the base.
        """
        cdef cb_subscription_t *s = self._sub(sid)
        s.use_yes_price = use_yes_price
        if seq is not None:
            s.last_seq = seq
            s.has_seq = 1

    def subscriptions(self):
        """Return the subscriptions' trackers: ``[(sid, last seq or None, use_yes_price), ...]``.

        With :meth:`register_subscription` (``seq=``) and :meth:`set_market_sid` this saves and
        restores the registry's sequencing state (a replay checkpoint).
        """
        cdef Py_ssize_t i
        return [(self._subs[i].sid, self._subs[i].last_seq if self._subs[i].has_seq else None,
                 bool(self._subs[i].use_yes_price)) for i in range(self._nsubs)]

    def set_market_sid(self, str ticker not None, int64_t sid):
        """Set the sid that last delivered ``ticker`` (restoring a saved state; -1: none)."""
        cdef Py_ssize_t i = self._index(ticker)
        if i < 0:
            raise KeyError(ticker)
        self._markets[i].sid = sid if sid >= 0 else -1

    def subscription_seq(self, int64_t sid):
        """Return the last seq seen on ``sid``, or None if none was seen."""
        cdef Py_ssize_t i
        for i in range(self._nsubs):
            if self._subs[i].sid == sid and self._subs[i].has_seq:
                return self._subs[i].last_seq
        return None

    def forget_subscription(self, int64_t sid):
        """Drop the seq tracker of ``sid`` (after a resubscribe the new sid starts afresh)."""
        cdef Py_ssize_t i
        for i in range(self._nsubs):
            if self._subs[i].sid == sid:
                self._subs[i] = self._subs[self._nsubs - 1]
                self._nsubs -= 1
                return

    cdef void _mark_sid(self, int64_t sid, int state) noexcept:
        """Move every book last delivered by ``sid`` to ``state`` and flag it for a snapshot."""
        cdef Py_ssize_t k
        cdef OrderBook book
        for k in range(self._nmarkets):
            if self._markets[k].sid == sid:
                book = <OrderBook>self._markets[k].book
                if state == CB_BOOK_FAULTED:
                    book.fault_c(CB_FAULT_EXTERNAL, -1, -1, 0)
                else:
                    book.set_state_c(<cb_book_state_t>state)
                if state != CB_BOOK_STALE:
                    self._markets[k].needs_snapshot = 1
                    self._resync_pending = True

    cdef int _track(self, cb_subscription_t *s, int64_t seq, int kind) except -1:
        cdef int64_t sid = s.sid
        if not s.has_seq:
            s.has_seq = 1
        elif not (seq == s.last_seq + 1 or (_is_control(kind) and seq == s.last_seq)):
            self._gaps += 1
            self._mark_sid(sid, CB_BOOK_GAPPED)
        s.last_seq = seq
        return 0

    def take_resync(self):
        """Return the tickers that need a snapshot, and forget them.

        A market needs one after a seq gap or duplicate on its subscription, a delta before its
        snapshot, or a frame for it that could not be applied. Ask for them with
        ``update_subscription`` / ``get_snapshot`` (:func:`centbook.protocol.commands.get_snapshot`).

        Returns
        -------
        list of str
        """
        cdef Py_ssize_t k
        out = []
        if not self._resync_pending:
            return out
        for k in range(self._nmarkets):
            if self._markets[k].needs_snapshot:
                self._markets[k].needs_snapshot = 0
                out.append((<OrderBook>self._markets[k].book).ticker)
        self._resync_pending = False
        return out

    def take_resync_by_sid(self):
        """As :meth:`take_resync`, grouped by the subscription each market came on.

        Returns
        -------
        dict of int to list of str
            ``{sid: [ticker, ...]}``, ready for one ``get_snapshot`` per sid. A market that never
            received a frame has no sid and is listed under -1.
        """
        out = {}
        for ticker in self.take_resync():
            sid = self.market_sid(ticker)
            out.setdefault(-1 if sid is None else sid, []).append(ticker)
        return out

    @property
    def resync_pending(self):
        """True when :meth:`take_resync` has markets to report."""
        return self._resync_pending

    # ------------------------------------------------------------------------- the fast path

    cdef int _fail(self, int reason, const char *buf, size_t n) except -2:
        """Count a refused frame, remember why (copying what is needed: the frame may be a
        view that dies with the callback), and raise if asked to."""
        cdef cb_frame_t *f = &self._frame
        cdef int64_t pos = <int64_t>f.err_pos if reason < CB_FE_COUNT else 0
        cdef int64_t start = pos - 40 if pos > 40 else 0
        cdef int64_t stop = start + 96 if start + 96 < <int64_t>n else <int64_t>n
        self._errors += 1
        self._by_reason[reason] += 1
        self._err_reason = reason
        self._err_pos = pos
        self._err_frame_len = <int64_t>n
        self._err_field = f.err_field if reason < CB_FE_COUNT else NULL
        self._err_kind = f.kind
        self._err_ticker_len = f.ticker_len if f.have & CB_HAVE_TICKER else 0
        memcpy(self._err_ticker, f.ticker, self._err_ticker_len)
        self._err_bytes_start = start
        self._err_bytes_len = stop - start
        memcpy(self._err_bytes, buf + start, stop - start)
        if self.raise_errors:
            raise DecodeError(self.last_error, _reason_names[reason])
        return CB_FRAME_INVALID

    cdef int apply_frame_c(self, const char *buf, size_t n) except -2:
        cdef cb_frame_t *f = &self._frame
        cdef int rc = cb_frame_parse(buf, n, f)
        cdef int kind = f.kind
        cdef uint32_t have = f.have
        cdef Py_ssize_t idx = -1
        cdef OrderBook book
        cdef cb_subscription_t *sub = NULL
        cdef cb_apply_t res
        cdef int64_t new_size
        cdef int32_t price
        cdef size_t i
        self._frames += 1
        if kind < 32:
            self._by_kind[kind] += 1
        if have & CB_HAVE_SID:
            sub = self._sub(f.sid)
            if have & CB_HAVE_SEQ:
                if sub.has_seq and f.seq == sub.last_seq + 1:
                    sub.last_seq = f.seq      # in order: the usual case, inline
                else:
                    self._track(sub, f.seq, kind)
        self._unknown_fields += f.unknown_keys
        if rc != 0:
            # the frame consumed its seq but cannot be applied: fault its market, or all of the sid
            if have & CB_HAVE_TICKER:
                idx = self._find(f.ticker, f.ticker_len, cb_hash_padded(f.ticker, f.ticker_len))
            if idx >= 0:
                (<OrderBook>self._markets[idx].book).fault_c(CB_FAULT_EXTERNAL, -1, -1, 0)
                self._markets[idx].needs_snapshot = 1
                self._resync_pending = True
            elif ((have & CB_HAVE_SID) and (have & CB_HAVE_SEQ) and not (have & CB_HAVE_TICKER)
                  and (kind == CB_KIND_SNAPSHOT or kind == CB_KIND_DELTA or kind == CB_KIND_NONE
                       or kind == CB_KIND_UNKNOWN)):
                # an orderbook frame (or one whose type is unreadable) whose market is unknown
                self._mark_sid(f.sid, CB_BOOK_FAULTED)
            return self._fail(rc, buf, n)
        if kind == CB_KIND_DELTA:
            idx = self._find(f.ticker, f.ticker_len, cb_hash_padded(f.ticker, f.ticker_len))
            if idx < 0:
                return self._fail(CB_R_UNKNOWN_MARKET, buf, n)
            book = <OrderBook>self._markets[idx].book
            self._markets[idx].sid = f.sid
            price = f.price_bp
            if f.side == 1 and sub.use_yes_price:
                price = MAX_BP - price
            res = book.apply_delta_c(f.side, price, f.delta, &new_size)
            if res != CB_APPLIED:
                self._markets[idx].needs_snapshot = 1
                self._resync_pending = True
                return self._fail(CB_R_BOOK + <int>res, buf, n)
            book.last_seq = f.seq
            self._deltas += 1
            self._last_market = idx
            return kind
        if kind == CB_KIND_SNAPSHOT:
            idx = self._find(f.ticker, f.ticker_len, cb_hash_padded(f.ticker, f.ticker_len))
            if idx < 0:
                if not self.auto_create:
                    return self._fail(CB_R_UNKNOWN_MARKET, buf, n)
                key = f.ticker[:f.ticker_len]
                idx = self._insert(key, OrderBook(key.decode("utf-8"), self.default_grid))
            book = <OrderBook>self._markets[idx].book
            self._markets[idx].sid = f.sid
            if sub.use_yes_price:
                for i in range(f.level_count[1]):
                    f.level_price_bp[1][i] = MAX_BP - f.level_price_bp[1][i]
            res = book.load_snapshot_c(f.level_price_bp[0], f.level_size[0], f.level_count[0],
                                       f.level_price_bp[1], f.level_size[1], f.level_count[1])
            if res != CB_APPLIED:
                self._markets[idx].needs_snapshot = 1
                self._resync_pending = True
                return self._fail(CB_R_BOOK + <int>res, buf, n)
            self._markets[idx].needs_snapshot = 0
            book.last_seq = f.seq
            self._snapshots += 1
            self._last_market = idx
            return kind
        if kind == CB_KIND_UNKNOWN or kind == CB_KIND_NONE:
            self._unknown_types += 1
            return kind
        if kind == CB_KIND_UNSUBSCRIBED and (have & CB_HAVE_SID):
            # the subscription is over: its books receive nothing more
            self._mark_sid(f.sid, CB_BOOK_STALE)
            self.forget_subscription(f.sid)
        self._other += 1
        return kind

    @cython.always_allow_keywords(False)
    def apply_frame(self, frame):
        """Decode one WebSocket text frame and apply it to its book.

        Parameters
        ----------
        frame : bytes or buffer
            The frame payload: ``bytes``, ``bytearray``, ``memoryview`` or any contiguous buffer,
            such as the memoryview picows hands to a listener (valid only inside the callback:
            nothing here keeps a reference to it, so it may be released as soon as this returns).

        Returns
        -------
        int
            A :class:`FrameKind`: ``ORDERBOOK_SNAPSHOT`` / ``ORDERBOOK_DELTA`` when a book was
            updated; another kind for a valid frame of another type (not applied: decode it with
            :func:`centbook.protocol.messages.decode` if it matters); ``FrameKind.INVALID`` (-1) when the
            frame was refused (see :attr:`last_error`; no level changed).

        Raises
        ------
        DecodeError
            Only with ``raise_errors=True``, for a refused frame.
        """
        cdef Py_buffer view
        cdef int kind
        if PyBytes_CheckExact(frame):
            return self.apply_frame_c(PyBytes_AS_STRING(frame), <size_t>PyBytes_GET_SIZE(frame))
        PyObject_GetBuffer(frame, &view, PyBUF_SIMPLE)
        try:
            kind = self.apply_frame_c(<const char *>view.buf, <size_t>view.len)
        finally:
            PyBuffer_Release(&view)
        return kind

    def apply_frames(self, list frames not None):
        """Apply a list of frames in order, as :meth:`apply_frame` would one by one.

        Returns
        -------
        int
            The number of frames refused (0 when every frame applied or was classified).
        """
        cdef Py_ssize_t i, n = PyList_GET_SIZE(frames)
        cdef int64_t before = self._errors
        cdef object frame
        for i in range(n):
            frame = <object>PyList_GET_ITEM(frames, i)
            if PyBytes_CheckExact(frame):
                self.apply_frame_c(PyBytes_AS_STRING(frame), <size_t>PyBytes_GET_SIZE(frame))
            else:
                self.apply_frame(frame)
        return self._errors - before

    # ------------------------------------------------------------------------- what the last frame held

    @property
    def last_kind(self):
        """FrameKind of the last frame parsed (its type, even if the frame was refused)."""
        return FrameKind(self._frame.kind)

    @property
    def last_sid(self):
        """sid of the last frame, or None if it had none."""
        return self._frame.sid if self._frame.have & CB_HAVE_SID else None

    @property
    def last_seq(self):
        """seq of the last frame, or None if it had none."""
        return self._frame.seq if self._frame.have & CB_HAVE_SEQ else None

    @property
    def last_id(self):
        """Command id of the last frame (a snapshot answering get_snapshot), or None."""
        return self._frame.id if self._frame.have & CB_HAVE_ID else None

    @property
    def last_ticker(self):
        """Market ticker of the last orderbook frame, or None."""
        if not self._frame.have & CB_HAVE_TICKER:
            return None
        return self._frame.ticker[:self._frame.ticker_len].decode("utf-8")

    @property
    def last_ts_ms(self):
        """``ts_ms`` of the last delta (Unix ms), or None if absent."""
        return self._frame.ts_ms if self._frame.have & CB_HAVE_TS_MS else None

    @property
    def last_client_order_id(self):
        """``client_order_id`` of the last delta (set when your own order caused it), or None."""
        if not self._frame.have & CB_HAVE_COID:
            return None
        return self._frame.client_order_id[:self._frame.client_order_id_len].decode("utf-8")

    @property
    def last_subaccount(self):
        """``subaccount`` of the last delta, or None if absent."""
        return self._frame.subaccount if self._frame.have & CB_HAVE_SUBACCOUNT else None

    # ------------------------------------------------------------------------- counters and errors

    @property
    def counters(self):
        """Counters since the registry was made, as a dict.

        Keys: ``frames``, ``snapshots``, ``deltas``, ``other`` (valid frames of other known
        types), ``unknown_types``, ``unknown_fields`` (keys the parser does not know, in an
        envelope or an orderbook body: tolerated, counted), ``decode_errors``, ``gaps`` (seq gaps
        and duplicates),
        ``errors_by_reason`` (dict reason -> count, non-zero only) and ``frames_by_type``.
        """
        by_reason = {_reason_names[i]: self._by_reason[i] for i in _reason_names if self._by_reason[i]}
        by_type = {FrameKind(i).name.lower(): self._by_kind[i] for i in range(<int>CB_KIND_COUNT)
                   if self._by_kind[i]}
        return {
            "frames": self._frames, "snapshots": self._snapshots, "deltas": self._deltas,
            "other": self._other, "unknown_types": self._unknown_types,
            "decode_errors": self._errors, "gaps": self._gaps, "unknown_fields": self._unknown_fields,
            "errors_by_reason": by_reason, "frames_by_type": by_type,
        }

    @property
    def decode_errors(self):
        """Number of refused frames."""
        return self._errors

    @property
    def gaps(self):
        """Number of seq gaps and duplicates seen."""
        return self._gaps

    @property
    def last_error_reason(self):
        """Reason key of the last refused frame (a :data:`REASONS` entry), or None."""
        return _reason_names[self._err_reason] if self._err_reason else None

    @property
    def last_error(self):
        """Text of the last refused frame's error (reason, field, offset, offending bytes), or None."""
        if not self._err_reason:
            return None
        reason = self._err_reason
        field = self._err_field.decode() if self._err_field != NULL else ""
        parts = [f"{_reason_names[reason]}: {_reason_texts[reason]}"]
        if field:
            parts.append(f"field {field}")
        if self._err_ticker_len:
            parts.append(f"market {self._err_ticker[:self._err_ticker_len].decode('utf-8', 'replace')}")
        if reason < CB_FE_COUNT:
            parts.append(f"at byte {self._err_pos} of {self._err_frame_len}")
        window = self._err_bytes[:self._err_bytes_len]
        parts.append(_shorten(window, self._err_bytes_start, self._err_frame_len))
        return "; ".join(parts)

    def __repr__(self):
        return f"<Books {self._nmarkets} markets, {self._frames} frames, {self._errors} errors>"


def parse_frame(frame, *, bint general=False):
    """Parse one frame with the C parser alone and return what it read, as a dict (slow; tests).

    Parameters
    ----------
    frame : bytes or buffer
    general : bool, default False
        Skip the shortcut for deltas in Kalshi's compact layout (to test that both agree).

    Returns
    -------
    dict
        ``kind`` (FrameKind), and whichever of ``sid``, ``seq``, ``id``, ``market_ticker``,
        ``side`` (0/1), ``price_bp``, ``delta`` (hundredths), ``ts_ms``, ``client_order_id``,
        ``subaccount``, ``yes`` / ``no`` (lists of (price_bp, size) as sent) were present, and
        ``unknown_keys`` (how many keys it did not know) when non-zero.

    Raises
    ------
    DecodeError
        If the parser refuses the frame.
    """
    cdef Books scratch = Books()
    cdef cb_frame_t *f = &scratch._frame
    cdef Py_buffer view
    cdef int rc
    cdef size_t i
    PyObject_GetBuffer(frame, &view, PyBUF_SIMPLE)
    try:
        if general:
            rc = cb_frame_parse_general(<const char *>view.buf, <size_t>view.len, f)
        else:
            rc = cb_frame_parse(<const char *>view.buf, <size_t>view.len, f)
        if rc != 0:
            scratch._fail(rc, <const char *>view.buf, <size_t>view.len)
            raise DecodeError(scratch.last_error, _reason_names[rc])
    finally:
        PyBuffer_Release(&view)
    out = {"kind": FrameKind(f.kind)}
    if f.have & CB_HAVE_SID:
        out["sid"] = f.sid
    if f.have & CB_HAVE_SEQ:
        out["seq"] = f.seq
    if f.have & CB_HAVE_ID:
        out["id"] = f.id
    if f.have & CB_HAVE_TICKER:
        out["market_ticker"] = f.ticker[:f.ticker_len].decode("utf-8")
    if f.have & CB_HAVE_SIDE:
        out["side"] = f.side
    if f.have & CB_HAVE_PRICE:
        out["price_bp"] = f.price_bp
    if f.have & CB_HAVE_DELTA:
        out["delta"] = f.delta
    if f.have & CB_HAVE_TS_MS:
        out["ts_ms"] = f.ts_ms
    if f.have & CB_HAVE_COID:
        out["client_order_id"] = f.client_order_id[:f.client_order_id_len].decode("utf-8")
    if f.have & CB_HAVE_SUBACCOUNT:
        out["subaccount"] = f.subaccount
    if f.unknown_keys:
        out["unknown_keys"] = f.unknown_keys
    if f.kind == CB_KIND_SNAPSHOT:
        out["yes"] = [(f.level_price_bp[0][i], f.level_size[0][i]) for i in range(f.level_count[0])]
        out["no"] = [(f.level_price_bp[1][i], f.level_size[1][i]) for i in range(f.level_count[1])]
    return out
