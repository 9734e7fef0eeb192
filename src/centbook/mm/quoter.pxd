# The compiled amend path of the market maker: an armed amend per quote slot, fired from the
# WebSocket reader's end-of-read hook (a centbook.hooks.ReadHook) without Python in between.
from libc.stdint cimport int32_t, int64_t

cimport cython

from centbook.book cimport OrderBook
from centbook.grid cimport PriceGrid
from centbook.hooks cimport ReadHook


@cython.final
cdef class ArmedAmend:
    # what Python armed (mm.armed: ArmedSlots.rearm)
    cdef public bint armed
    cdef public bint cancel             # the requote is cancel + create: this writes the cancel
    cdef public object key              # the slot's key (ticker, side), for whoever gets it back
    cdef public Py_ssize_t market       # the book's index in the feed's Books registry
    cdef public int side                # 0: the bid slot, 1: the ask slot
    cdef public OrderBook book
    cdef public PriceGrid grid          # the market's grid (the strategy snaps to it)
    cdef public int32_t live_price      # the resting order: YES price, size left, filled so far
    cdef public int64_t live_size, filled
    cdef public int32_t own_a, own_b    # YES prices of the market's resting orders (-1: none)
    cdef public int64_t own_a_size, own_b_size  # and our size resting at each
    cdef public double half_spread_bp, skew_bp_per_contract
    cdef public int64_t position        # the market's position (hundredths) the skew uses
    cdef public int64_t size, size_threshold
    cdef public int32_t threshold_bp
    cdef public int32_t floor_bp        # settlement floor (-1: none): a YES price must be above
    cdef public int64_t not_before_ns   # monotonic: the order's minimum quote life ends
    cdef public int64_t fresh_until_ns  # monotonic: the signature or the connection gets too old
    cdef public int64_t close_limit_ns  # Unix ns: quoting stops (0: never)
    cdef public dict tradable           # the feed's ticker -> bool
    cdef public dict shard_trading      # the feed's shard -> bool
    cdef public object ticker, shard
    cdef public object conn, transport  # the reserved order-lane connection and its transport
    cdef public bytes head, body_pre, body_mid, body_post  # a cancel: head is the request
    cdef public object try_acquire, bucket, cost
    cdef public object write            # what the REST client armed (rest.ArmedWrite)
    # what it fired
    cdef public int32_t fired_price
    cdef public int64_t fired_count, read_ns, applied_ns, decided_ns, written_ns, sent_ms
    cdef public int64_t python_ns       # ns its read spent in Python's on_message before the hook
    cdef public int64_t made_ns         # its request made (checks passed, budget taken): monotonic
    cdef public int nth                 # its write's place among the read's compiled writes (0: first)


@cython.final
cdef class Quoter(ReadHook):
    cdef list _by_market                # registry index -> [bid ArmedAmend or None, ask ...]
    cdef readonly Py_ssize_t armed
    cdef public object on_fired         # on_fired(list of ArmedAmend), right after the writes
    cdef readonly int64_t fired, declined, unchanged, write_errors
    cdef public bint pair_writes        # a read's requests all made before any is written (off)
    cdef readonly object last_error     # repr of the last exception a slot met before its write
    cdef int64_t _declines[16]

    cdef bint _decline(self, int reason) noexcept
    cdef int _fire_all(self, const Py_ssize_t *changed, Py_ssize_t n, int64_t read_ns, int64_t applied_ns,
                       list fired) except -1
    cdef bytes _prepare(self, ArmedAmend a, int32_t target, int32_t top_bid, int32_t top_ask)
    cdef object _declined(self, int reason)
    cdef bint _write(self, ArmedAmend a, bytes data, int64_t read_ns, int64_t applied_ns, int nth) except -1
