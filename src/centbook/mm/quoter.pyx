"""The market maker's compiled requote path: decide and write an amend (or, when the maker
requotes by cancel + create, the cancel) inside the read callback.

The WebSocket reader (:class:`centbook.feed.reader.BookListener`) calls :meth:`Quoter.on_read_c`
(a :class:`centbook.hooks.ReadHook`)
at the end of every socket read that changed a book, before any Python listener runs. For each
changed market with an *armed* quote slot, it computes the strategy's targets from the book's C
fields and, when the slot's resting order must move, writes the amend's bytes to a reserved
order-lane connection with ``transport.write``: no Python bytecode runs between the socket read
and the write but the budget check. Then ``on_fired`` tells the market maker which slots it
wrote for, still inside the callback, and the order manager takes over from there (the answer,
the order's state, the latencies) exactly as for an amend it wrote itself.

The Python side decides everything this path may do, and arms a slot only when all of it holds
(:meth:`centbook.mm.armed.ArmedSlots.rearm`): the built-in microprice strategy, the
slot idle with a resting order, the position limits passed, an order-lane connection and a
pre-made signature reserved, the request's bytes made but for price, count and length. Here the
rest of the checks are made again from the live state, each exactly as the Python order manager
makes it:

- the book LIVE, and on each side a level within the 5 best that is not all our own size (the
  strategy's ``top_level``: our resting orders are taken off the book first); a crossed book, which
  the feed is about to resync, is left to Python (a check of this path only);
- the targets of :meth:`centbook.mm.strategy.Strategy.targets` (the microprice, the inventory
  skew, the half-spread snapped to the grid), bit for bit: the same double arithmetic in the
  same order, on sizes small enough that every product is exact;
- the requote threshold (:meth:`Strategy.should_requote`), the settlement floor, no crossing
  (an amend is not post-only; a cancel skips it, as the Python path does: the create after it
  is post-only unless ``strategy.post_only`` is off), the minimum quote life, the stop before
  close, the market and its shard tradable (the feed's own dicts), the connection still open and
  idle, the signature and the connection within their age limits, and the budget's tokens there
  with nobody queued.

Whenever one of them fails the slot is left armed and untouched and the Python decision that
follows in the same read handles it (``declined`` counts those). A slot fires at most once per
arming. Each request is written as soon as it is made; with ``pair_writes`` every request of the
read (both slots of a market when both move, and those of the other markets changed in the read)
is made before any is written, then they are written back to back. That is not the default: the
writes go one after the other on this thread either way, so pairing cannot bring a later write
forward, and it holds the first write back by the later decisions (``benchmarks/bench_mm.py``
measures both).

The reader may hand the read's public trades and tickers, and the lifecycle frames of markets
without an armed slot, to Python after this path (``defer_public``, ``watches_c``): they cannot
change anything an armed slot was armed on. Every frame that can (our orders, fills and
positions of any market, as the total position limit spans markets; an armed market's lifecycle;
exchange status, order groups, anything else) reaches Python first, which disarms what it
changes.

The market maker uses this path when ``compiled_amend`` is on in its configuration (the default)
and it has the order lane (``order_lane``), pre-made signatures (``presign``) and the built-in
strategy; otherwise every requote is Python's (:meth:`centbook.mm.maker.MarketMaker.start`).
"""
from cpython.dict cimport PyDict_GetItem
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from libc.stdint cimport int32_t, int64_t
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

from centbook.book cimport CB_BOOK_LIVE, OrderBook
from centbook.cb cimport cb_format_price, cb_format_size, cb_monotonic_ns
from centbook.books cimport Books
from centbook.grid cimport PriceGrid
from centbook.hooks cimport ReadHook

__all__ = ["ArmedAmend", "DECLINE_REASONS", "Quoter"]

cdef enum:
    MAX_BP = 10000

# why an armed slot left a read's decision to Python (Quoter.declines)
cdef enum:
    D_BOOK = 0       # not LIVE, a side empty, or crossed
    D_DEPTH = 1      # our own orders fill the 5 best levels of a side
    D_SIZE = 2       # sizes or position too large for exact arithmetic
    D_TARGETS = 3    # a side without a target (off the grid, or bid >= ask)
    D_FLOOR = 4
    D_CROSSES = 5
    D_QUOTE_LIFE = 6
    D_CLOSING = 7
    D_UNTRADABLE = 8
    D_CONNECTION = 9
    D_BUDGET = 10
    D_STALE = 11     # the signature or the reserved connection is at its age limit
    D_ERROR = 12     # an exception before the write (Quoter.last_error): nothing went out
    N_REASONS = 13

DECLINE_REASONS = ("book", "depth", "size", "targets", "floor", "crosses", "quote_life", "closing",
                   "untradable", "connection", "budget", "stale", "error")

# sizes above this make pb * sa + pa * sb inexact in a double: the Python side decides then
cdef int64_t SIZE_LIMIT = 1 << 38
cdef double INT_RANGE = 2e9       # targets outside +-this would overflow the grid's C int


cdef inline int64_t _wall_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef inline int32_t _round_down(PriceGrid grid, int64_t p) noexcept:
    """PriceGrid.round_down on the YES side."""
    cdef int32_t q = <int32_t>(p if p < MAX_BP else MAX_BP)
    while q >= 0 and grid.slot_of[0][q] < 0:
        q -= 1
    return q


cdef inline int32_t _round_up(PriceGrid grid, int64_t p) noexcept:
    """PriceGrid.round_up on the YES side."""
    cdef int32_t q = <int32_t>(p if p > 0 else 0)
    while q <= MAX_BP and grid.slot_of[0][q] < 0:
        q += 1
    return q if q <= MAX_BP else -1


cdef inline int64_t _own_size(ArmedAmend a, int32_t yes) noexcept:
    cdef int64_t size = 0
    if yes == a.own_a:
        size += a.own_a_size
    if yes == a.own_b:
        size += a.own_b_size
    return size


cdef bint _top(OrderBook book, int side, ArmedAmend a, int32_t *price, int64_t *size) noexcept:
    """strategy.top_level: the best level of YES bids (side 0) or of YES asks (the NO bids, side 1),
    as a YES price, after taking our own resting size off; up to 5 levels deep, as there."""
    cdef int32_t slot = book.best_slot_c(side)
    cdef int32_t yes
    cdef int64_t left
    cdef int _level
    for _level in range(5):
        if slot < 0:
            return False
        yes = book.slot_price_bp_c(slot)
        if side == 1:
            yes = MAX_BP - yes
        left = book.slot_size_c(side, slot) - _own_size(a, yes)
        if left > 0:
            price[0] = yes
            size[0] = left
            return True
        slot = book.best_slot_below(side, slot)
    return False


cdef int _targets(ArmedAmend a, int32_t *bid, int32_t *ask, int32_t *top_bid, int32_t *top_ask) noexcept:
    """The strategy's (bid, ask) YES prices for ``a``'s market: -1 when found, else the reason
    (D_*) the Python side decides."""
    cdef OrderBook book = a.book
    cdef int32_t yb, nb, pb = 0, pa = 0
    cdef int64_t sb = 0, sa = 0, b, k
    cdef double fair, center, x, y
    if book.state_c() != CB_BOOK_LIVE:
        return D_BOOK
    yb = book.best_bid_bp_c(0)
    nb = book.best_bid_bp_c(1)
    if yb >= 0 and nb >= 0 and yb + nb >= MAX_BP:  # crossed: the feed resyncs it
        return D_BOOK
    # Microprice.fair: the top of each side without our own orders
    if not (_top(book, 0, a, &pb, &sb) and _top(book, 1, a, &pa, &sa)):
        return D_BOOK  # a side empty (no fair value: the strategy pulls the quotes)
    if sb >= SIZE_LIMIT or sa >= SIZE_LIMIT:
        return D_SIZE
    if a.position >= SIZE_LIMIT or a.position <= -SIZE_LIMIT:
        return D_SIZE
    # Microprice.fair, then Strategy.targets: same operations, same order, exact operands
    fair = <double>(pb * sa + pa * sb) / <double>(sa + sb)
    center = fair - a.skew_bp_per_contract * <double>a.position / 100.0
    x = center - a.half_spread_bp
    y = center + a.half_spread_bp + 0.999999
    if not (-INT_RANGE < x < INT_RANGE and -INT_RANGE < y < INT_RANGE):
        return D_TARGETS
    b = <int64_t>x  # int(): toward zero
    if b < 1:
        b = 1
    k = <int64_t>y
    if k > 9999:
        k = 9999
    bid[0] = _round_down(a.grid, b)
    ask[0] = _round_up(a.grid, k)
    if not (0 < bid[0] < MAX_BP and 0 < ask[0] < MAX_BP) or bid[0] >= ask[0]:
        return D_TARGETS
    top_bid[0] = pb
    top_ask[0] = pa
    return -1


cdef class ArmedAmend:
    """One quote slot's armed requote, set up by the market maker (every field is set by it): an
    amend, or with ``cancel`` the cancel that starts a cancel + create (``head`` is then the whole
    request, and the crossing check is left out, as on the Python path: the create that follows is
    post-only by default)."""

    def __init__(self):
        self.armed = False
        self.cancel = False
        self.own_a = self.own_b = -1
        self.floor_bp = -1

    def __repr__(self):
        return (f"ArmedAmend({self.key!r}, armed={self.armed}, live={self.live_price}/{self.live_size}, "
                f"fired={self.fired_price if self.written_ns else None})")


cdef class Quoter(ReadHook):
    """The armed slots, by market; fired from :meth:`on_read_c` (see the module docstring).

    Attributes
    ----------
    armed : int
        Slots armed now.
    fired, declined, unchanged, write_errors : int
        Amends written; reads where an armed slot left the decision to Python; reads where an
        armed slot's order was already where the strategy wants it; writes the transport refused
        (nothing went out; the slot stays armed and Python decides).
    pair_writes : bool
        False (the default): each request is written as soon as it is made (a later decision
        waits for the writes before it). True: every request of a read is made before any is
        written, then they are written back to back (the first write waits for every decision).
    defer_public : bool
        :class:`centbook.hooks.ReadHook`'s; True here.
    """

    def __init__(self, on_fired=None):
        self.defer_public = True  # public trades and tickers cannot change an armed decision
        self.pair_writes = False  # measured: pairing holds the first write back, brings none forward
        self._by_market = []
        self.on_fired = on_fired

    def arm(self, ArmedAmend a not None):
        """Arm ``a`` for its market and side (a slot armed there before must be disarmed first)."""
        if a.side not in (0, 1) or a.market < 0 or a.book is None or a.grid is None:
            raise ValueError(f"{a!r}: side must be 0 or 1 and market, book and grid set")
        while len(self._by_market) <= a.market:
            self._by_market.append(None)
        pair = self._by_market[a.market]
        if pair is None:
            pair = self._by_market[a.market] = [None, None]
        other = pair[a.side]
        if other is not None and other is not a and (<ArmedAmend>other).armed:
            raise ValueError(f"{a.key!r} is armed already")
        pair[a.side] = a
        if not a.armed:
            a.armed = True
            a.written_ns = 0
            self.armed += 1

    def disarm(self, ArmedAmend a not None):
        """Disarm ``a``; True when it was armed (it did not fire), False when it had fired."""
        if not a.armed:
            return False
        a.armed = False
        self.armed -= 1
        if a.market < len(self._by_market):
            pair = self._by_market[a.market]
            if pair is not None and pair[a.side] is a:
                pair[a.side] = None
        return True

    def targets(self, ArmedAmend a not None):
        """``(bid, ask)`` as the compiled path computes them for ``a``'s market now, or None where
        it leaves the decision to Python (for tests: the strategy must agree)."""
        cdef int32_t bid = 0, ask = 0, tb = 0, ta = 0
        if _targets(a, &bid, &ask, &tb, &ta) >= 0:
            return None
        return bid, ask

    cdef bint watches_c(self, Py_ssize_t market) noexcept:
        """A market with an armed slot: its lifecycle frames reach Python before this path."""
        cdef object pair
        if market < 0 or market >= len(self._by_market):
            return False
        pair = self._by_market[market]
        return pair is not None and (pair[0] is not None or pair[1] is not None)

    def watches(self, Py_ssize_t market):
        """:meth:`watches_c` from Python (for tests)."""
        return self.watches_c(market)

    @property
    def declines(self):
        """Reads where an armed slot left the decision to Python, by reason."""
        return {name: self._declines[i] for i, name in enumerate(DECLINE_REASONS)}

    cdef int on_read_c(self, Books books, const Py_ssize_t *changed, Py_ssize_t n,
                       int64_t read_ns) except -1:
        """Fire the armed slots of the markets ``changed[:n]`` whose order must move."""
        cdef int64_t applied_ns
        cdef list fired
        if self.armed == 0:
            return 0
        applied_ns = cb_monotonic_ns()
        fired = []
        try:
            self._fire_all(changed, n, read_ns, applied_ns, fired)
        finally:
            # whatever happened, the amends already written go to the order manager
            if fired and self.on_fired is not None:
                self.on_fired(fired)
        return 0

    cdef int _fire_all(self, const Py_ssize_t *changed, Py_ssize_t n, int64_t read_ns, int64_t applied_ns,
                       list fired) except -1:
        cdef Py_ssize_t k, m
        cdef Py_ssize_t nm = len(self._by_market)
        cdef int32_t bid = 0, ask = 0, top_bid = 0, top_ask = 0
        cdef int got, nth = 0
        cdef ArmedAmend a
        cdef list ready = []  # pair_writes: (slot, request), written after every decision of the read
        for k in range(n):
            m = changed[k]
            if m >= nm:
                continue
            pair = self._by_market[m]
            if pair is None:
                continue
            got = -1
            for entry in pair:
                if entry is None:
                    continue
                a = <ArmedAmend>entry
                if not a.armed:
                    continue
                if got == -1:
                    got = _targets(a, &bid, &ask, &top_bid, &top_ask)
                    if got == -1:
                        got = -2  # found
                if got >= 0:
                    self._decline(got)
                    continue
                try:
                    data = self._prepare(a, bid if a.side == 0 else ask, top_bid, top_ask)
                except Exception as exc:  # noqa: BLE001 - before the write: nothing went out
                    self.last_error = repr(exc)
                    self._decline(D_ERROR)
                    continue
                if data is None:
                    continue
                if self.pair_writes:
                    ready.append((a, data))
                elif self._write(a, data, read_ns, applied_ns, nth):  # written as soon as it is made
                    fired.append(a)
                    nth += 1
        # pair_writes: written back to back, after every decision of the read
        for a, data in ready:
            if self._write(a, data, read_ns, applied_ns, nth):
                fired.append(a)
                nth += 1
        return 0

    cdef bint _decline(self, int reason) noexcept:
        self.declined += 1
        self._declines[reason] += 1
        return False

    cdef bytes _prepare(self, ArmedAmend a, int32_t target, int32_t top_bid, int32_t top_ask):
        """The request that moves ``a``'s order to ``target`` (its budget tokens taken), or None
        (unchanged, or declined: counted)."""
        cdef int64_t now, wall, count
        cdef PyObject *v
        cdef char price_buf[32]
        cdef char count_buf[32]
        cdef Py_ssize_t np, nc
        # Strategy.should_requote
        if abs(a.live_price - target) < a.threshold_bp and abs(a.live_size - a.size) < a.size_threshold:
            self.unchanged += 1
            return None
        # MarketMaker._limit (the floor) and MarketMaker._crosses
        if a.floor_bp >= 0 and target <= a.floor_bp:
            return self._declined(D_FLOOR)
        if not a.cancel and (target >= top_ask if a.side == 0 else target <= top_bid):
            return self._declined(D_CROSSES)  # a cancel: the create after it decides (post-only)
        now = cb_monotonic_ns()
        wall = _wall_ns()
        if now < a.not_before_ns:
            return self._declined(D_QUOTE_LIFE)
        if now >= a.fresh_until_ns:
            return self._declined(D_STALE)
        if a.close_limit_ns and wall >= a.close_limit_ns:
            return self._declined(D_CLOSING)
        # Feed.is_tradable
        v = PyDict_GetItem(a.tradable, a.ticker)
        if v == NULL or not <object>v:
            return self._declined(D_UNTRADABLE)
        if a.shard is not None:
            v = PyDict_GetItem(a.shard_trading, a.shard)
            if v != NULL and not <object>v:
                return self._declined(D_UNTRADABLE)
        conn = a.conn
        if conn.closed or conn.waiter is not None or a.transport.is_closing():
            return self._declined(D_CONNECTION)
        if not a.try_acquire(a.bucket, a.cost):
            return self._declined(D_BUDGET)
        count = a.filled + a.size  # Kalshi's amend count: filled + resting
        a.fired_price = target
        a.fired_count = count
        a.sent_ms = wall // 1000000
        a.decided_ns = now
        if a.cancel:
            data = a.head
        else:
            np = cb_format_price(target, price_buf)
            nc = cb_format_size(count, count_buf)
            body = a.body_pre + price_buf[:np] + a.body_mid + count_buf[:nc] + a.body_post
            data = a.head + b"%d\r\n\r\n" % len(body) + body
        a.made_ns = cb_monotonic_ns()
        return data

    cdef object _declined(self, int reason):
        self._decline(reason)
        return None

    cdef bint _write(self, ArmedAmend a, bytes data, int64_t read_ns, int64_t applied_ns, int nth) except -1:
        """Hand ``a``'s request to its transport; False when the transport refused it."""
        try:
            a.transport.write(data)
        except (RuntimeError, OSError):  # closed under us: nothing went out (the tokens are spent)
            self.write_errors += 1
            return False
        a.written_ns = cb_monotonic_ns()
        a.armed = False
        self.armed -= 1
        self._by_market[a.market][a.side] = None
        a.read_ns = read_ns
        a.applied_ns = applied_ns
        a.python_ns = self.python_ns
        a.nth = nth
        self.fired += 1
        return True
